"""Norwegian organisation numbers (organisasjonsnummer): 9 digits with a mod-11 check digit."""

import re

_WEIGHTS = (3, 2, 7, 6, 5, 4, 3, 2)


def normalize_orgnr(value: str | None) -> str:
    """Strip spaces, dots and an optional 'NO'/'MVA' decoration: ' NO 974 760 673 MVA' -> '974760673'."""
    if not value:
        return ""
    cleaned = re.sub(r"[\s.\-]", "", value.upper())
    cleaned = cleaned.removeprefix("NO").removesuffix("MVA")
    return cleaned


def is_valid_orgnr(value: str | None) -> bool:
    digits = normalize_orgnr(value)
    if len(digits) != 9 or not digits.isdigit():
        return False
    remainder = sum(int(d) * w for d, w in zip(digits, _WEIGHTS, strict=False)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return check != 10 and check == int(digits[8])
