"""The list filters find what an operator looks for."""

import re


def ids_listed(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', page)}


def test_client_filters(client, world, operator):
    ids = world.client_ids
    base = "/admin/klienter/"
    assert ids_listed(client.get(base + "?flt0_aldri_synkronisert_er=1").text) == {ids[4]}
    assert ids_listed(client.get(base + "?flt0_utdatert_dager_eller_mer=2").text) == {ids[2], ids[3], ids[4], ids[5]}
    assert ids_listed(client.get(base + "?flt0_tilgjengelig_er=0").text) == {ids[5]}
    assert ids_listed(client.get(base + "?flt0_aktiv_er=1").text) == set(ids[:3])
    assert ids_listed(client.get(base + f"?flt0_kunde_er={world.customer_id}").text) == set(ids)
    assert ids_listed(client.get(base + "?flt0_kunde_er=999999").text) == set()
    assert ids_listed(client.get(base + "?flt0_kundenavn_inneholder=regnskapsbyr").text) == set(ids)
    assert ids_listed(client.get(base + f"?flt0_integrasjon_er={world.integration_id}").text) == set(ids)
    assert ids_listed(client.get(base + "?flt0_siste_resultat_er=succeeded").text) == set(ids) - {ids[4]}
    assert ids_listed(client.get(base + "?search=974760673").text) == {ids[0]}
    assert ids_listed(client.get(base + "?search=t-3").text) == {ids[3]}  # source (Visma) id


def test_run_filters(client, world, operator):
    base = "/admin/kjoringer/"
    assert ids_listed(client.get(base + "?flt0_status_er=failed").text) == {world.failed_run_id}
    assert ids_listed(client.get(base + "?flt0_type_er=incremental_sync").text) == {world.queued_run_id}
    assert ids_listed(client.get(base + f"?flt0_klient_er={world.client_ids[0]}").text) == {world.failed_run_id}
    both = {world.failed_run_id, world.queued_run_id}
    assert ids_listed(client.get(base + f"?flt0_kunde_er={world.customer_id}").text) == both
    assert ids_listed(client.get(base + "?flt0_opprettet_etter=2000-01-01+00:00:00").text) == both
    assert ids_listed(client.get(base + "?flt0_opprettet_fr=2000-01-01+00:00:00").text) == set()
    # Newest first.
    page = client.get(base).text
    listed = [int(i) for i in re.findall(r'name="rowid" class="action-checkbox" value="(\d+)"', page)]
    assert listed == [world.queued_run_id, world.failed_run_id]


def test_audit_filters(client, world, operator, admin_csrf):
    client.post("/admin/klienter/action/", data={
        "csrf_token": admin_csrf, "action": "activate", "rowid": [str(world.client_ids[3])], "url": ""})
    base = "/admin/revisjonslogg/"
    # Rows read in words (the codes stay the filters' values).
    def cells(url):
        page = client.get(url).text.split('model-list"')[1].split("</table>")[0]
        return " ".join(re.findall(r"<td[^>]*>(.*?)</td>", page, flags=re.S))

    table = cells(base + "?flt0_handling_er=clients_activated")
    assert table.count("Klienter aktivert") >= 1 and "Integrasjon opprettet" not in table
    table = cells(base + "?flt0_utfrt_av_inneholder=operator")
    assert "Klienter aktivert" in table and "demo-seed" not in table
    page = client.get(base + f"?flt0_kunde_er={world.customer_id}").text
    assert "Regnskapsbyrå Demo AS" in page
