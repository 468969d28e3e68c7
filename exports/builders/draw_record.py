"""专家抽取记录: every ranked place of the call's draws, with the commitment and the revealed seed."""

from exports.builders import Subject, call_by_code
from exports.builders.base import Column, write_sheet
from reviews.models import Invitation, InvitationStatus

SHEET = "专家抽取记录"
CHUNK = 2000
COLUMNS = [
    Column("序号", "int"),
    Column("榜单编号"),
    Column("抽取编号", "int"),
    Column("抽取时间", "datetime"),
    Column("规则版本"),
    Column("名次", "int"),
    Column("专家姓名"),
    Column("状态"),
    Column("邀请时间", "datetime"),
    Column("答复时间", "datetime"),
    Column("原因"),
    Column("种子承诺（SHA-256）"),
    Column("种子（抽取后公开）"),
]


def resolve(params: dict) -> Subject:
    call = call_by_code(params.get("call"))
    return Subject(
        params={"call": call.code}, label=call.code, filename=f"专家抽取记录-{call.code}.xlsx", call=call, calls=[call]
    )


def _invitations(code: str):
    return Invitation.objects.filter(draw__call__code=code)


def count(params: dict) -> int:
    return _invitations(params["call"]).count()


def rows(params: dict):
    labels = dict(InvitationStatus.choices)
    fields = (
        _invitations(params["call"])
        .order_by("draw__committed_at", "draw_id", "rank")
        .values_list(
            "draw_id",
            "draw__drawn_at",
            "draw__rule_version",
            "rank",
            "expert__name",
            "status",
            "invited_at",
            "responded_at",
            "reason",
            "draw__commitment",
            "draw__status",
            "draw__seed",
        )
        .iterator(chunk_size=CHUNK)
    )
    for number, row in enumerate(fields, start=1):
        draw_id, drawn_at, rule, rank, name, status, invited, answered, reason, commitment, draw_status, seed = row
        yield (
            number,
            params["call"],
            draw_id,
            drawn_at,
            rule,
            rank,
            name,
            str(labels.get(status, status)),
            invited,
            answered,
            reason,
            commitment,
            seed if draw_status == "drawn" else "",  # the seed stays secret until the draw is made
        )


def build(params: dict, target, *, progress=None) -> int:
    return write_sheet(
        target,
        sheet=SHEET,
        title=f"{params['call']} 评审专家随机抽取记录",
        columns=COLUMNS,
        rows=rows(params),
        total=count(params) if progress else 0,
        progress=progress,
    )
