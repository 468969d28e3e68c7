"""拟立项名单: the recommended proposals of one call, or of every call of a programme year (domain.md)."""

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from calls.models import Call, Programme, support_label
from exports.builders import Subject, SubjectMissing, call_by_code
from exports.builders.base import Column, write_sheet
from proposals.choices import TeamRole, UnitRole
from proposals.models import ProposalUnit, TeamMember
from reviews.models import Recommendation

SHEET = "拟立项名单"
MEMBER_SEPARATOR = "、"
COLUMNS = [
    Column("序号", "int"),
    Column("榜单编号"),
    Column("榜单名称"),
    Column("发榜单位"),
    Column("揭榜单位（牵头）"),
    Column("联合单位"),
    Column("项目负责人"),
    Column("支持方式"),
    Column("综合得分", "score"),
    Column("排名", "int"),
    Column("拟支持财政经费（万元）", "money"),
    Column("企业出资（万元）", "money"),
    Column("实施周期（月）", "int"),
    Column("备注"),
]


def resolve(params: dict) -> Subject:
    if params.get("call"):
        call = call_by_code(params["call"])
        return Subject(
            params={"call": call.code},
            label=call.code,
            filename=f"拟立项名单-{call.code}.xlsx",
            call=call,
            calls=[call],
        )
    try:
        year = int(params.get("year"))
        programme_id = int(params["programme"]) if params.get("programme") else None
    except (TypeError, ValueError):
        raise ValidationError(_("Name a call, or a year (and optionally a programme).")) from None
    normalised = {"year": year}
    label = f"{year}"
    if programme_id is not None:
        programme = Programme.objects.filter(pk=programme_id, year=year).first()
        if programme is None:
            raise SubjectMissing(_("There is no programme %(id)s of %(year)s.") % {"id": programme_id, "year": year})
        normalised["programme"] = programme.pk
        label = str(programme)
    return Subject(params=normalised, label=label, filename=f"拟立项名单-{label}.xlsx".replace(" ", "-"))


def _calls(params: dict):
    if params.get("call"):
        return Call.objects.filter(code=params["call"])
    calls = Call.objects.filter(programme__year=params["year"])
    if params.get("programme"):
        calls = calls.filter(programme_id=params["programme"])
    return calls


def title(params: dict) -> str:
    if params.get("call"):
        call = Call.objects.select_related("programme").get(code=params["call"])
        return f"{call.programme.year}年{call.programme.name}揭榜挂帅项目拟立项名单（{call.code} {call.title}）"
    if params.get("programme"):
        programme = Programme.objects.get(pk=params["programme"])
        return f"{programme.year}年{programme.name}揭榜挂帅项目拟立项名单"
    return f"{params['year']}年揭榜挂帅项目拟立项名单"


def rows(params: dict):
    """Fixed queries: the recommendations, the member units and the PIs (award lists are short)."""
    recommendations = Recommendation.objects.filter(call__in=_calls(params)).order_by(
        "call__code", "proposal__result__rank", "proposal_id"
    )
    members, leaders = {}, {}
    for proposal_id, name in (
        ProposalUnit.objects.filter(proposal__recommendation__in=recommendations, role=UnitRole.MEMBER)
        .order_by("proposal_id", "pk")
        .values_list("proposal_id", "organization__name")
    ):
        members.setdefault(proposal_id, []).append(name)
    for proposal_id, name in (
        TeamMember.objects.filter(proposal__recommendation__in=recommendations, role=TeamRole.PI)
        .order_by("proposal_id", "pk")
        .values_list("proposal_id", "person__name")
    ):
        leaders.setdefault(proposal_id, name)
    fields = recommendations.values_list(
        "proposal_id",
        "call__code",
        "call__title",
        "call__issuer__name",
        "proposal__lead_organization__name",
        "call__support_mode",
        "call__max_winners",
        "proposal__result__final",
        "proposal__result__rank",
        "fiscal_amount",
        "call__issuer_contribution",
        "call__period_months",
    )
    for number, row in enumerate(fields, start=1):
        (pid, code, call_title, issuer, lead, mode, winners, final, rank, fiscal, contribution, months) = row
        support = support_label(mode, winners)
        yield (
            number,
            code,
            call_title,
            issuer,
            lead,
            MEMBER_SEPARATOR.join(members.get(pid, [])),
            leaders.get(pid, ""),
            support,
            final,
            rank,
            fiscal,
            contribution,
            months,
            "",
        )


def count(params: dict) -> int:
    return Recommendation.objects.filter(call__in=_calls(params)).count()


def build(params: dict, target, *, progress=None) -> int:
    return write_sheet(
        target,
        sheet=SHEET,
        title=title(params),
        columns=COLUMNS,
        rows=rows(params),
        total=count(params) if progress else 0,
        progress=progress,
    )
