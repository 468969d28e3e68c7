"""形式审查结果: every submitted proposal of a call, its formal-review outcome and the reasons."""

from exports.builders import Subject, call_by_code
from exports.builders.base import Column, write_sheet
from proposals.choices import ProposalStatus
from proposals.models import Proposal

SHEET = "形式审查结果"
CHUNK = 2000
COLUMNS = [
    Column("序号", "int"),
    Column("榜单编号"),
    Column("方案编号", "int"),
    Column("方案名称"),
    Column("揭榜单位（牵头）"),
    Column("提交时间", "datetime"),
    Column("审查结果"),
    Column("审查意见"),
    Column("审查时间", "datetime"),
]
PENDING = {ProposalStatus.SUBMITTED: "待审查"}
OUTCOMES = {ProposalStatus.RETURNED: "退回修改", ProposalStatus.REJECTED: "不通过", ProposalStatus.WITHDRAWN: "已撤回"}


def resolve(params: dict) -> Subject:
    call = call_by_code(params.get("call"))
    return Subject(
        params={"call": call.code}, label=call.code, filename=f"形式审查结果-{call.code}.xlsx", call=call, calls=[call]
    )


def _proposals(code: str):
    return Proposal.objects.filter(call__code=code, submitted_at__isnull=False)


def count(params: dict) -> int:
    return _proposals(params["call"]).count()


def outcome(status: str) -> str:
    # Every state after formal review (expert review, ranking, award …) means it passed.
    return PENDING.get(status) or OUTCOMES.get(status) or "通过"


def rows(params: dict):
    fields = (
        _proposals(params["call"])
        .order_by("submitted_at", "pk")
        .values_list("pk", "title", "lead_organization__name", "submitted_at", "status", "review_reason", "reviewed_at")
        .iterator(chunk_size=CHUNK)
    )
    for number, (pk, title, lead, submitted, status, reason, reviewed) in enumerate(fields, start=1):
        yield (number, params["call"], pk, title, lead, submitted, outcome(status), reason, reviewed)


def build(params: dict, target, *, progress=None) -> int:
    return write_sheet(
        target,
        sheet=SHEET,
        title=f"{params['call']} 揭榜方案形式审查结果",
        columns=COLUMNS,
        rows=rows(params),
        total=count(params) if progress else 0,
        progress=progress,
    )
