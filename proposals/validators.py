"""居民身份证号码 (resident ID number) per GB 11643-1999."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from accounts.validators import mask_id_number  # noqa: F401  (re-exported: used with the ID checks)

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"


def id_check_character(first17: str) -> str:
    return CHECK[sum(int(c) * w for c, w in zip(first17, WEIGHTS, strict=True)) % 11]


def validate_id_number(value: str) -> None:
    if not isinstance(value, str) or len(value) != 18:
        raise ValidationError(_("An ID number has 18 characters."), code="length")
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        raise ValidationError(_("An ID number is 17 digits followed by a digit or a capital X."), code="character")
    expected = id_check_character(value[:17])
    if value[17] != expected:
        raise ValidationError(
            _("Wrong check character in the ID number: expected %(expected)s, got %(got)s.")
            % {"expected": expected, "got": value[17]},
            code="check",
        )
