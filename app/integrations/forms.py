"""Forms of the customer pages: a new integration and its description."""

import re

from flask_wtf import FlaskForm
from wtforms import PasswordField, RadioField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, ValidationError

from app.integrations import systems
from app.integrations.models import System
from app.integrations.operations import DESCRIPTION_MAX_LENGTH
from app.integrations.tripletex import KEY_MAX_LENGTH

DESCRIPTION_LABEL = "Beskrivelse (Ikke fyll inn personopplysninger i feltet)"
DESCRIPTION_PLACEHOLDER = "Fyll inn egen valgfri beskrivelse"

# What personal data typically looks like in a free-text field: a fødselsnummer (11 digits)
# or an e-mail address. Organisation numbers (9 digits) are fine.
_PERSONNUMMER = re.compile(r"(?<!\d)\d{6}\s?\d{5}(?!\d)")
_EMAIL = re.compile(r"[^\s@]+@[^\s@]+\.[^\s@]+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def no_personal_data(form, field) -> None:
    value = field.data or ""
    if _PERSONNUMMER.search(value):
        raise ValidationError("Beskrivelsen ser ut til å inneholde et fødselsnummer. Fjern det.")
    if _EMAIL.search(value):
        raise ValidationError("Beskrivelsen ser ut til å inneholde en e-postadresse. Fjern den.")
    if _CONTROL.search(value):
        raise ValidationError("Beskrivelsen inneholder ugyldige tegn.")


def _strip(value):
    return value.strip() if isinstance(value, str) else value


class DescriptionForm(FlaskForm):
    description = TextAreaField(
        DESCRIPTION_LABEL,
        filters=[_strip],
        validators=[
            Length(max=DESCRIPTION_MAX_LENGTH,
                   message=f"Beskrivelsen kan ha høyst {DESCRIPTION_MAX_LENGTH} tegn."),
            no_personal_data,
        ],
    )


def _key_field(label: str) -> PasswordField:
    return PasswordField(label, filters=[lambda v: "".join(v.split()) if isinstance(v, str) else v],
                         validators=[Length(max=KEY_MAX_LENGTH, message="Nøkkelen er for lang.")])


class NewIntegrationForm(DescriptionForm):
    system = RadioField(
        "Webbaserte regnskapssystem",
        choices=[SelectChoice(s.name, s.label) for s in systems.registered()],
        default=System.VISMA_NET.value,
        validators=[DataRequired("Velg et regnskapssystem.")],
    )
    key = _key_field("Regnskapskontorets brukernøkkel (Tripletex)")

    def validate_key(self, field) -> None:
        """Required for a system connected by a key (ignored for the others)."""
        chosen = next((s for s in systems.registered() if s.name == self.system.data), None)
        if chosen is not None and chosen.connect == systems.Connect.KEY and not field.data:
            raise ValidationError(f"Lim inn {chosen.key_label.lower()} fra {chosen.label}.")


class KeyForm(FlaskForm):
    key = _key_field("Ny regnskapskontorets brukernøkkel")

    def validate_key(self, field) -> None:
        if not field.data:
            raise ValidationError("Lim inn nøkkelen.")
