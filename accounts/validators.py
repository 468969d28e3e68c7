"""统一社会信用代码 (unified social credit code) per GB 32100-2015.

18 characters over a 31-symbol alphabet (digits and capitals without I, O, S,
V, Z). The 18th character is a check character computed from the first 17
with fixed weights; see ``../shared/domain.md``.
"""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
LENGTH = 18
_VALUE = {char: index for index, char in enumerate(CHARSET)}


def check_character(first17: str) -> str:
    """Return the check character for the first 17 characters of a code."""
    if len(first17) != LENGTH - 1:
        raise ValueError("check_character needs exactly 17 characters")
    total = sum(_VALUE[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return CHARSET[(31 - total % 31) % 31]


def validate_credit_code(value: str) -> None:
    """Raise ``ValidationError`` saying exactly what is wrong with ``value``.

    Lower-case letters are refused rather than folded: the code is printed in
    capitals on every licence, so lower case means it was typed wrongly.
    """
    if not isinstance(value, str):
        raise ValidationError(_("The credit code must be text."), code="type")
    if len(value) != LENGTH:
        raise ValidationError(
            _("The credit code must have 18 characters; this one has %(length)d.") % {"length": len(value)},
            code="length",
        )
    for position, char in enumerate(value, start=1):
        if char not in _VALUE:
            raise ValidationError(
                _(
                    "Character %(position)d (“%(char)s”) is not allowed in a credit "
                    "code; only digits and capital letters other than I, O, S, V "
                    "and Z may be used."
                )
                % {"position": position, "char": char},
                code="character",
            )
    expected = check_character(value[:17])
    if value[17] != expected:
        raise ValidationError(
            _("Wrong check character: expected %(expected)s, got %(got)s.") % {"expected": expected, "got": value[17]},
            code="check",
        )


def is_in_region_code(value: str) -> bool:
    """Inner Mongolia's administrative region codes start with 15 (positions 3–4)."""
    return len(value) >= 4 and value[2:4] == "15"


def mask_id_number(value: str) -> str:
    """Show the region and the last two characters only: 150102**********12."""
    if not value or len(value) < 8:
        return "*" * len(value or "")
    return value[:6] + "*" * (len(value) - 8) + value[-2:]
