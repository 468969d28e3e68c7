"""评分明细: one row per proposal × expert × criterion, a 合计 row per expert, a 汇总 row per proposal.

Expert names appear only in administrators' exports (params["names"]); other
readers see 专家1, 专家2 … numbered per proposal in assignment order.
"""

from exports.builders import Subject, call_by_code
from exports.builders.base import Column, write_sheet
from reviews.models import Result, Score, ScoreItem, ScoreStatus

SHEET = "评分明细"
CHUNK = 2000
COLUMNS = [
    Column("榜单编号"),
    Column("方案编号", "int"),
    Column("方案名称"),
    Column("揭榜单位（牵头）"),
    Column("行类型"),
    Column("评审专家"),
    Column("评审项"),
    Column("满分", "score"),
    Column("得分", "score"),
    Column("排名", "int"),
    Column("评审意见"),
    Column("提交时间", "datetime"),
]
ITEM, EXPERT_TOTAL, AGGREGATE = "评分", "专家合计", "汇总"


def resolve(params: dict) -> Subject:
    call = call_by_code(params.get("call"))
    names = bool(params.get("names"))
    return Subject(
        params={"call": call.code, "names": names},
        label=call.code,
        filename=f"评分明细-{call.code}.xlsx",
        call=call,
        calls=[call],
    )


def _items(code: str):
    return ScoreItem.objects.filter(
        score__assignment__proposal__call__code=code,
        score__assignment__active=True,
        score__status=ScoreStatus.SUBMITTED,
    )


def _scores(code: str):
    return Score.objects.filter(
        assignment__proposal__call__code=code, assignment__active=True, status=ScoreStatus.SUBMITTED
    )


def count(params: dict) -> int:
    items = _items(params["call"])
    experts = items.values("score_id").distinct().count()
    proposals = Result.objects.filter(proposal__call__code=params["call"]).count()
    return items.count() + experts + proposals


def rows(params: dict):
    """Two streams in the same (proposal, assignment) order, merged here: the experts' score sheets with
    what all rows of a sheet share (proposal, expert, total, comment, time), and the sheets' items, narrow.
    Shared values are read once per sheet instead of once per item, and the database sorts narrow rows."""
    code, names = params["call"], params.get("names", False)
    results = {
        pid: (final, rank, method, n)
        for pid, final, rank, method, n in Result.objects.filter(proposal__call__code=code).values_list(
            "proposal_id", "final", "rank", "method", "count"
        )
    }
    items = (
        _items(code)
        .order_by("score__assignment__proposal_id", "score__assignment_id", "criterion__order", "criterion_id")
        .values_list(
            "score__assignment__proposal_id",
            "score__assignment_id",
            "criterion__name",
            "criterion__max_points",
            "points",
            "comment",
        )
        .iterator(chunk_size=CHUNK)
    )
    sheets = (
        _scores(code)
        .order_by("assignment__proposal_id", "assignment_id")
        .values_list(
            "assignment__proposal_id",
            "assignment_id",
            "assignment__proposal__title",
            "assignment__proposal__lead_organization__name",
            "assignment__expert__name" if names else "assignment__expert_id",
            "total",
            "comment",
            "submitted_at",
        )
        .iterator(chunk_size=CHUNK)
    )
    sheet = (0, 0)
    proposal = assignment = None
    expert_no = 0
    head = expert_total = None

    def aggregate(pid, title, lead):
        final, rank, method, n = results.get(pid, (None, None, "", 0))
        return (code, pid, title, lead, AGGREGATE, f"{n}位专家", f"综合得分（{method}）", None, final, rank, "", None)

    for pid, aid, criterion, max_points, points, comment in items:
        if aid != assignment:
            # This item's score sheet. Sheets without items have no rows and are passed over; an item whose
            # sheet the second query no longer saw (withdrawn in between) is left out with it.
            while sheet is not None and sheet[:2] < (pid, aid):
                sheet = next(sheets, None)
            if sheet is None or sheet[:2] != (pid, aid):
                continue
            if expert_total is not None:
                yield expert_total
            _pid, _aid, title, lead, expert, total, overall, at = sheet
            if pid != proposal:
                if head is not None:
                    yield aggregate(*head)
                proposal, expert_no, head = pid, 0, (pid, title, lead)
            assignment, expert_no = aid, expert_no + 1
            shown = expert if names else f"专家{expert_no}"
            expert_total = (code, pid, title, lead, EXPERT_TOTAL, shown, "合计", None, total, None, overall, at)
        yield (code, pid, title, lead, ITEM, shown, criterion, max_points, points, None, comment, at)
    if expert_total is not None:
        yield expert_total
    if head is not None:
        yield aggregate(*head)


def build(params: dict, target, *, progress=None) -> int:
    return write_sheet(
        target,
        sheet=SHEET,
        title=f"{params['call']} 专家评审评分明细表",
        columns=COLUMNS,
        rows=rows(params),
        total=count(params) if progress else 0,
        progress=progress,
    )
