"""Rubric rules shared by programme templates and call rubrics."""

from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

TOTAL_POINTS = Decimal("100")

# Default bands: share of a criterion's maximum.
DEFAULT_BANDS = [
    {"label": "优", "min_share": "0.90"},
    {"label": "良", "min_share": "0.75"},
    {"label": "中", "min_share": "0.60"},
    {"label": "差", "min_share": "0"},
]

DEFAULT_TEMPLATE = [
    {"name": "技术路线的先进性与可行性", "max_points": "30"},
    {"name": "考核指标响应程度", "max_points": "25"},
    {"name": "创新联合体与团队实力", "max_points": "20"},
    {"name": "前期基础与配套条件", "max_points": "15"},
    {"name": "经费预算合理性", "max_points": "10"},
]


def validate_criteria(criteria: list[dict]) -> list[dict]:
    """Check a list of {"name", "max_points"}; return it normalised (Decimal points).

    Refuses an empty rubric, unnamed or duplicate criteria, non-positive
    points, and totals other than 100, each with a message that says which.
    """
    if not criteria:
        raise ValidationError(_("The rubric needs at least one criterion."), code="empty")
    cleaned, names, errors = [], set(), []
    for index, item in enumerate(criteria, start=1):
        name = str(item.get("name", "")).strip()
        if not name:
            errors.append(_("Criterion %(n)d has no name.") % {"n": index})
            continue
        if name in names:
            errors.append(_("Criterion “%(name)s” appears twice.") % {"name": name})
        names.add(name)
        try:
            points = Decimal(str(item.get("max_points", "")))
        except InvalidOperation:
            errors.append(_("Criterion “%(name)s” has no valid maximum points.") % {"name": name})
            continue
        if points <= 0:
            errors.append(_("Criterion “%(name)s” must be worth more than 0 points.") % {"name": name})
        cleaned.append({**item, "name": name, "max_points": points})
    if errors:
        raise ValidationError(errors, code="criteria")
    total = sum((c["max_points"] for c in cleaned), Decimal(0))
    if total != TOTAL_POINTS:
        raise ValidationError(
            _("The maximum points of the criteria add up to %(total)s; they must add up to 100.")
            % {"total": format(total.normalize(), "f")},
            code="total",
        )
    return cleaned


def validate_bands(bands: list[dict]) -> None:
    if not bands:
        return
    shares = []
    for band in bands:
        if not str(band.get("label", "")).strip():
            raise ValidationError(_("Every score band needs a label."), code="bands")
        try:
            shares.append(Decimal(str(band["min_share"])))
        except (KeyError, InvalidOperation):
            raise ValidationError(_("Every score band needs a lower bound."), code="bands") from None
    if shares != sorted(shares, reverse=True) or any(not (0 <= s <= 1) for s in shares):
        raise ValidationError(_("Score bands must go from the highest to the lowest share, each between 0 and 1."))
