"""A Norwegian chart of accounts after NS 4102, as a small company in Visma.net would hold it."""

from __future__ import annotations

_CHART = """
1000 Forskning og utvikling
1020 Konsesjoner
1030 Patenter
1040 Lisenser
1050 Varemerker
1070 Utsatt skattefordel
1080 Goodwill
1100 Bygninger
1110 Bygninger under oppføring
1120 Bygningsmessige anlegg
1130 Anlegg under utførelse
1140 Jord- og skogbruk
1150 Tomter og andre grunnarealer
1160 Boliger inkl. tomter
1200 Maskiner og anlegg
1210 Maskiner og anlegg under utførelse
1220 Skip, rigger, fly
1230 Personbiler
1238 Akkumulerte avskrivninger personbiler
1240 Lastebiler
1250 Inventar
1260 Fast bygningsinventar
1270 Verktøy
1280 Kontormaskiner
1290 Andre driftsmidler
1300 Investeringer i datterselskap
1320 Lån til foretak i samme konsern
1330 Investeringer i tilknyttet selskap
1350 Investeringer i aksjer og andeler
1360 Obligasjoner
1370 Fordringer på eiere
1380 Fordringer på ansatte
1390 Andre fordringer
1400 Råvarer og innkjøpte halvfabrikata
1420 Varer under tilvirkning
1440 Ferdig egentilvirkede varer
1460 Innkjøpte varer for videresalg
1480 Forskudd til leverandører
1500 Kundefordringer
1530 Opptjent, ikke fakturert driftsinntekt
1550 Kundefordringer på selskap i samme konsern
1560 Andre fordringer på selskap i samme konsern
1570 Andre kortsiktige fordringer
1575 Forskuddsbetalt lønn
1580 Avsetning for tap på fordringer
1600 Utgående merverdiavgift
1610 Inngående merverdiavgift
1640 Oppgjørskonto merverdiavgift
1700 Forskuddsbetalt leiekostnad
1710 Forskuddsbetalt rentekostnad
1720 Andre depositum
1740 Forskuddsbetalte forsikringer
1749 Andre forskuddsbetalte kostnader
1750 Påløpt leieinntekt
1760 Påløpt renteinntekt
1770 Andre påløpte inntekter
1800 Aksjer og andeler i foretak i samme konsern
1810 Markedsbaserte aksjer for handel
1820 Andre markedsbaserte aksjer
1830 Markedsbaserte obligasjoner
1880 Andre finansielle instrumenter
1900 Kontanter
1910 Kassekreditt
1920 Bankinnskudd
1921 Bankinnskudd driftskonto 2
1940 Plasseringskonto
1950 Bankinnskudd for skattetrekk
1960 Valutakonto
2000 Aksjekapital
2010 Egne aksjer
2020 Overkurs
2030 Annen innskutt egenkapital
2050 Annen egenkapital
2080 Udekket tap
2100 Pensjonsforpliktelser
2120 Utsatt skatt
2160 Uopptjent inntekt
2180 Andre avsetninger for forpliktelser
2200 Konvertible lån
2210 Obligasjonslån
2220 Gjeld til kredittinstitusjoner
2240 Pantelån
2250 Gjeld til ansatte og eiere
2260 Gjeld til selskap i samme konsern
2290 Annen langsiktig gjeld
2310 Sertifikatlån
2380 Kassekreditt
2400 Leverandørgjeld
2460 Leverandørgjeld til selskap i samme konsern
2500 Betalbar skatt, ikke utlignet
2510 Betalbar skatt, utlignet
2600 Forskuddstrekk
2610 Påleggstrekk
2620 Bidragstrekk
2630 Trygdetrekk
2640 Forsikringstrekk
2650 Fagforeningstrekk
2690 Andre trekk
2700 Utgående merverdiavgift
2701 Utgående merverdiavgift, middels sats
2702 Utgående merverdiavgift, lav sats
2710 Inngående merverdiavgift
2711 Inngående merverdiavgift, middels sats
2712 Inngående merverdiavgift, lav sats
2740 Oppgjørskonto merverdiavgift
2770 Skyldig arbeidsgiveravgift
2780 Påløpt arbeidsgiveravgift på påløpt lønn
2785 Påløpt arbeidsgiveravgift på ferielønn
2790 Andre offentlige avgifter
2800 Avsatt utbytte
2900 Forskudd fra kunder
2910 Gjeld til ansatte og eiere
2920 Gjeld til selskap i samme konsern
2930 Skyldig lønn
2940 Skyldige feriepenger
2950 Påløpt rente
2960 Annen påløpt kostnad
2970 Uopptjent inntekt
2980 Avsetninger for forpliktelser
2990 Annen kortsiktig gjeld
3000 Salgsinntekt, avgiftspliktig
3020 Salgsinntekt, avgiftspliktig, middels sats
3030 Salgsinntekt, avgiftspliktig, lav sats
3100 Salgsinntekt, avgiftsfri
3150 Salgsinntekt, utenfor avgiftsområdet
3200 Salgsinntekt, unntatt avgiftsplikt
3400 Offentlig tilskudd
3500 Uopptjent inntekt
3600 Leieinntekt fast eiendom
3610 Leieinntekt andre varige driftsmidler
3700 Provisjonsinntekt
3800 Gevinst ved avgang av anleggsmidler
3900 Annen driftsrelatert inntekt
3950 Viderefakturerte kostnader
4000 Innkjøp av råvarer og halvfabrikata
4020 Innkjøp av varer, middels sats
4030 Innkjøp av varer, lav sats
4090 Beholdningsendring råvarer
4100 Innkjøp av varer under tilvirkning
4200 Innkjøp av ferdig egentilvirkede varer
4300 Innkjøp av varer for videresalg
4390 Beholdningsendring innkjøpte varer
4500 Fremmedytelse og underentreprise
4590 Beholdningsendring fremmedytelser
4990 Beholdningsendring egentilvirkede varer
5000 Lønn til ansatte
5010 Feriepenger
5020 Honorar
5090 Påløpt lønn
5092 Påløpte feriepenger
5100 Lønn, tillegg
5180 Endring i skyldige feriepenger
5200 Fri bil
5210 Fri telefon
5250 Gruppelivsforsikring
5252 Yrkesskadeforsikring
5280 Annen fordel i arbeidsforhold
5290 Motkonto for gruppe 52
5300 Tantieme
5330 Godtgjørelse til styre- og bedriftsforsamling
5400 Arbeidsgiveravgift
5410 Arbeidsgiveravgift av påløpt ferielønn
5420 Innberetningspliktig pensjonskostnad
5500 Annen kostnadsgodtgjørelse
5800 Refusjon av sykepenger
5900 Gave til ansatte
5910 Kantinekostnader
5920 Yrkesskadeforsikring
5930 Sosiale arrangementer
5940 Velferdstiltak
5990 Annen personalkostnad
6000 Avskrivning på bygninger og annen fast eiendom
6010 Avskrivning på transportmidler
6015 Avskrivning på maskiner
6017 Avskrivning på inventar
6020 Avskrivning på immaterielle eiendeler
6050 Nedskrivning av varige driftsmidler
6100 Frakt, transportkostnad og forsikring ved vareforsendelse
6110 Toll og spedisjonskostnad
6200 Elektrisitet
6210 Gass
6220 Fyringsolje
6250 Bensin, dieselolje
6260 Vann
6290 Annet brensel
6300 Leie lokale
6320 Renovasjon, vann, avløp o.l.
6340 Lys, varme
6360 Renhold
6390 Annen kostnad lokaler
6400 Leie maskiner
6410 Leie inventar
6420 Leie datasystemer
6430 Leie andre kontormaskiner
6440 Leie transportmidler
6490 Annen leiekostnad
6500 Motordrevet verktøy
6510 Håndverktøy
6540 Inventar
6550 Driftsmateriale
6551 Datautstyr (hardware)
6552 Programvare
6560 Rekvisita
6570 Arbeidsklær og verneutstyr
6590 Annet driftsmateriale
6600 Reparasjon og vedlikehold bygninger
6620 Reparasjon og vedlikehold utstyr
6690 Reparasjon og vedlikehold annet
6700 Revisjonshonorar
6705 Regnskapshonorar
6720 Honorar for økonomisk og juridisk bistand
6790 Annen fremmed tjeneste
6800 Kontorrekvisita
6820 Trykksak
6840 Aviser, tidsskrifter, bøker o.l.
6860 Møte, kurs, oppdatering o.l.
6890 Annen kontorkostnad
6900 Telefon
6907 Datakommunikasjon
6940 Porto
7000 Drivstoff transportmidler
7020 Vedlikehold transportmidler
7040 Forsikring og avgifter transportmidler
7080 Bilkostnader, privat bil
7090 Annen kostnad transportmidler
7100 Bilgodtgjørelse, oppgavepliktig
7130 Reisekostnad, oppgavepliktig
7140 Reisekostnad, ikke oppgavepliktig
7150 Diettkostnad, oppgavepliktig
7160 Diettkostnad, ikke oppgavepliktig
7300 Salgskostnad
7320 Reklamekostnad
7350 Representasjon, fradragsberettiget
7360 Representasjon, ikke fradragsberettiget
7400 Kontingent, fradragsberettiget
7410 Kontingent, ikke fradragsberettiget
7420 Gave, fradragsberettiget
7430 Gave, ikke fradragsberettiget
7500 Forsikringspremie
7550 Garantikostnad
7600 Lisensavgift og royalties
7610 Patentkostnad ved egen patent
7700 Styre- og bedriftsforsamlingsmøter
7710 Generalforsamling
7740 Øredifferanser
7770 Bank og kortgebyrer
7790 Annen kostnad, fradragsberettiget
7791 Annen kostnad, ikke fradragsberettiget
7800 Tap ved avgang av anleggsmidler
7830 Tap på fordringer
7860 Tap på kontrakter
8000 Inntekt på investering i datterselskap
8050 Renteinntekt fra foretak i samme konsern
8060 Valutagevinst (agio)
8070 Annen finansinntekt
8080 Verdiøkning av finansielle instrumenter
8090 Inntekt på andre investeringer
8100 Verdireduksjon av finansielle instrumenter
8110 Nedskrivning av andre finansielle omløpsmidler
8120 Nedskrivning av finansielle anleggsmidler
8130 Rentekostnad til foretak i samme konsern
8140 Rentekostnad, ikke fradragsberettiget
8150 Annen rentekostnad
8160 Valutatap (disagio)
8170 Annen finanskostnad
8300 Betalbar skatt
8320 Endring utsatt skatt
8800 Årsresultat
8900 Overføringer til annen egenkapital
8910 Overføringer fra annen egenkapital
8920 Avsatt utbytte
"""


def account_type(number: str) -> str:
    """Visma's account type for an NS 4102 account number."""
    if number[0] == "1":
        return "Asset"
    if number[0] == "2":
        return "Liability"
    if number[0] == "3" or number[:2] in {"80"} or number[:3] in {"806", "807", "808", "809"}:
        return "Income"
    return "Expense"


def chart() -> list[tuple[str, str, str]]:
    """The chart as (accountCD, description, type), ordered by account number."""
    rows = []
    for line in _CHART.strip().splitlines():
        number, description = line.split(" ", 1)
        rows.append((number, description, account_type(number)))
    return rows
