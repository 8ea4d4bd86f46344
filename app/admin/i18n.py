"""Norwegian texts for Flask-Admin's own templates, from the catalogue it ships (no Babel)."""

import gettext
import os
from functools import cache

import flask_admin

OWN = {
    # Phrases Flask-Admin's Norwegian catalogue lacks or words differently than we do.
    "With selected": "Med valgte",
    "Export as CSV": "Eksporter som CSV",
    "Remove Filter": "Fjern filter",
    "Clear search": "Tøm søk",
    "Search: %(placeholder)s": "Søk: %(placeholder)s",
    "Select all records": "Velg alle",
    "Select record": "Velg",
    "Please select at least one record.": "Velg minst én rad.",
    "There are no items in the table.": "Ingen treff.",
    "Record does not exist.": "Fant ikke raden.",
    "Export": "Eksporter",
    "View Record": "Vis",
    "Delete Record": "Slett",
    "Edit Record": "Rediger",
    "Are you sure you want to delete this record?": "Er du sikker på at du vil slette denne?",
    "Reset Filters": "Nullstill filtre",
    "Add Filter": "Legg til filter",
    "Apply": "Bruk",
    "Home": "Oversikt",
}


@cache
def _catalogue() -> gettext.NullTranslations:
    path = os.path.join(os.path.dirname(flask_admin.__file__), "translations")
    return gettext.translation("admin", localedir=path, languages=["no"], fallback=True)


def nb_gettext(string: str, **variables) -> str:
    text = OWN.get(string) or _catalogue().gettext(string)
    return text % variables if variables else text


def nb_ngettext(singular: str, plural: str, num: int, **variables) -> str:
    variables.setdefault("num", num)
    return nb_gettext(singular if num == 1 else plural, **variables)
