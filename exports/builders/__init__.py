"""One builder module per export kind; each offers resolve(params) and build(params, target, progress=).

resolve checks and normalises the parameters (the same dict always gives the
same workbook) and names the subject; build streams the rows into the sheet
with a number of queries that does not depend on the number of rows.
"""

from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from calls.models import Call


class SubjectMissing(ValidationError):
    """The call, programme or draw named by the parameters does not exist."""


@dataclass
class Subject:
    params: dict
    label: str
    filename: str
    call: Call | None = None
    calls: list = field(default_factory=list)


def call_by_code(code) -> Call:
    call = Call.objects.select_related("programme", "issuer").filter(code=str(code or "").strip()).first()
    if call is None:
        raise SubjectMissing(_("There is no call with the code “%(code)s”.") % {"code": code})
    return call


def module(kind: str):
    from exports.builders import award_list, draw_record, formal_review, score_sheet

    modules = {
        "award_list": award_list,
        "score_sheet": score_sheet,
        "draw_record": draw_record,
        "formal_review": formal_review,
    }
    try:
        return modules[kind]
    except KeyError:
        raise ValidationError(_("Unknown export kind “%(kind)s”.") % {"kind": kind}) from None


def resolve(kind: str, params: dict) -> Subject:
    return module(kind).resolve(dict(params or {}))


def build(kind: str, params: dict, target, *, progress=None) -> int:
    """Write the workbook; exports are Chinese documents whatever the requester's language."""
    with translation.override("zh-hans"):
        return module(kind).build(params, target, progress=progress)
