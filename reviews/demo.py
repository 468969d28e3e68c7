"""Demo expert review for ``seed_demo``: every stage from scoring to award, consistent with the call.

calls.demo leaves each call bound for a review stage closed, with its proposals formally passed
(proposals.demo) and the expert pool in place (experts.demo, which also drew JB-…-004). Here each
such call is taken the rest of the way through the real services, in the order an administrator
would: draw and route (``experts.demo.review_setup``: reviews.draw + reviews.routing), start the
review (reviews.decisions), experts' drafts and submissions (reviews.scoring), ranking, winners,
public notice, objections, then finalise or 流榜 — whatever the call's status in calls.demo asks for:

- under review: partial scores (submitted, complete drafts, half-filled drafts, not started);
- in notice: ranked, a winner confirmed, a notice running today, one handled and one open objection;
- awarded: the notice is over and finalised (赛马制 JB-…-001 with two winners);
- failed: every proposal below the pass threshold, ranked, the call failed with its reason.

Dates are demo history. The services act "now"; only where a service takes a date is a past one
passed in (``open_notice(starts_on=…)``). A past notice is moved to cover today just while its
objection is filed, then restored (like ``proposals.demo._open``). Afterwards the review's
timestamps (draw, answers, assignments, scores, ranking, winners, notice, objections) are moved
onto a plausible timeline with plain queryset updates (``_history``), as calls.demo does with
deadlines. The audit trail keeps the real time each step was recorded, and its content matches the
rows. A call that is no longer closed has been done already: a second run creates nothing.
"""

import hashlib
import logging
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from accounts.demo import ORGANISATIONS
from accounts.models import User
from calls.choices import CallStatus as S
from calls.demo import CALLS
from calls.models import Call
from experts.demo import review_setup
from proposals.choices import ProposalStatus
from proposals.demo import NEW_ORGS
from reviews import decisions, scoring
from reviews.aggregation import aggregate, default_winners
from reviews.models import (
    Assignment,
    Draw,
    Invitation,
    Notice,
    Objection,
    Recommendation,
    Result,
    Score,
    ScoreStatus,
)

ORG_NAMES = {key: name for key, name, *_rest in ORGANISATIONS} | {key: name for key, name, *_rest in NEW_ORGS}

# (programme year offset, call number) -> expected total per lead unit (experts' scores vary around it),
# and the fiscal amounts (万元) for the winners in rank order, within each request and the call's cap.
PLANS = {
    (-1, 1): ({"power": 87, "wind": 82}, ["550.00", "450.00"]),  # 赛马制: both consortia win
    (-1, 2): ({"re_inst": 84}, ["760.00"]),
    (-1, 3): ({"dairy_tech": 54, "ag_univ": 47}, []),  # 流榜: both below the pass threshold
    (-1, 4): ({"ag_univ": 81}, ["560.00"]),
    (0, 2): ({"battery": 85, "wind": 77}, ["560.00"]),
    (0, 4): ({"re_inst": 83, "battery": 72}, []),  # still being scored
}
DISSENT = {(0, 2): "wind"}  # one expert far below the others: the disagreement flag, dropped by the trimmed mean
# Objections: call -> (login of the signer, lead unit objected to, text, handling result or "" if open).
OBJECTIONS = {
    (-1, 1): [
        (
            "applicant-battery",
            "wind",
            "据了解，该方案项目负责人包志刚同时承担国家重点研发计划课题，本项目填报的年度投入9个月可能与在研项目冲突，"
            "请核实其投入时间是否真实。",
            "经核查，包志刚承担的国家重点研发计划课题已于本次公示前通过结题验收，本项目年度投入时间符合专项规定，"
            "异议不成立。已书面答复异议人。",
        )
    ],
    (0, 2): [
        (
            "applicant-coal-chem",
            "battery",
            "反映拟立项方案牵头单位包头恒能储能科技有限公司与发榜单位存在关联关系，评审结果可能有失公正。",
            "经核查工商登记信息，牵头单位与发榜单位及共同发榜单位之间不存在股权和人员关联；"
            "评审专家均按规定回避，异议不成立。已书面答复异议人。",
        ),
        (
            "applicant-wind",
            "battery",
            "拟立项方案承诺的零下30摄氏度容量保持率（≥85%）所依据的低温测试数据为企业自测，未提供第三方检测报告，"
            "请求核实数据的真实性。",
            "",
        ),
    ],
}
# What experts write per criterion of the default rubric, by how well it is met (≥85 %, ≥70 %, below).
REMARKS = [
    (
        "技术路线清晰，关键技术有创新，可行性论证充分",
        "技术路线基本可行，部分关键环节论证不足",
        "技术路线创新性不足，关键技术难点缺少应对方案",
    ),
    (
        "逐项响应考核指标且承诺值留有裕度，检测方法明确",
        "考核指标均已响应，个别指标的验证方式不够具体",
        "部分指标承诺值仅达下限，验证方案薄弱",
    ),
    (
        "联合体分工合理，产学研结合紧密，团队经验丰富",
        "团队结构较合理，参与单位的作用有待加强",
        "联合体协同不足，核心成员投入时间偏少",
    ),
    (
        "前期研究积累扎实，中试和示范条件已具备",
        "有一定前期基础，示范条件尚需落实",
        "前期基础薄弱，缺少中试验证条件",
    ),
    (
        "预算编制规范，自筹资金来源可靠",
        "预算总体合理，设备费测算依据需细化",
        "预算测算依据不足，自筹资金落实存在风险",
    ),
]
VERDICTS = (
    (80, "方案整体水平较高，建议优先支持。"),
    (60, "方案基本可行，建议修改完善后支持。"),
    (0, "方案尚不成熟，不建议支持。"),
)
UNDER_REVIEW_TAIL = ["draft", "missing", "partial"]  # the last assignments of each proposal; expert1's is last


def _spread(text: str, width: int) -> int:
    """A stable pseudo-random integer in [-width, width]."""
    return int(hashlib.sha256(text.encode()).hexdigest(), 16) % (2 * width + 1) - width


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour, minute)), timezone.get_default_timezone())


def _sheet(call: Call, assignment: Assignment, expected: int, salt: int) -> tuple[dict, dict, str]:
    """Points, criterion comments and the overall comment one expert gives one proposal."""
    key = f"{call.code}/{assignment.expert.user.username}/{assignment.proposal_id}/{salt}"
    lenience = _spread(key, 60)  # per mille of each criterion's maximum
    points, comments, shares = {}, {}, []
    for i, criterion in enumerate(call.criteria.order_by("order", "pk")):
        share = min(max(expected * 10 + lenience + _spread(f"{key}/{i}", 40), 300), 980)
        points[criterion.pk] = (criterion.max_points * share / 500).quantize(Decimal(1)) / 2  # half points
        band = 0 if share >= 850 else 1 if share >= 700 else 2
        comments[criterion.pk] = REMARKS[i % len(REMARKS)][band] + "。"
        shares.append((share, i % len(REMARKS)))
    total = sum(points.values(), Decimal(0))
    verdict = next(text for floor, text in VERDICTS if total >= floor)
    (_best, high), (_worst, low) = max(shares), min(shares)
    overall = f"优点：{REMARKS[high][0]}。不足：{REMARKS[low][1 if total >= 75 else 2]}。{verdict}"
    return points, comments, overall


def _panel(call: Call, assignments: list, expected: int, dissent: bool) -> list:
    """Every expert's sheet for one proposal. Expert scores of a real panel spread by several points,
    and the disagreement rule flags most random panels of five, so the sheets are salted until the
    flag is as planned: off, or on for a planned dissent (the first expert scores 15 points lower)."""
    for salt in range(200):
        sheets = [_sheet(call, a, expected - 15 * (dissent and j == 0), salt) for j, a in enumerate(assignments)]
        if aggregate([sum(points.values()) for points, *_rest in sheets]).disagreement == dissent:
            break
    return sheets


def _score(assignment: Assignment, sheet: tuple, state: str) -> None:
    """Score through reviews.scoring: "submitted", a complete "draft", a "partial" draft, or "missing"."""
    if state == "missing":
        return
    points, comments, overall = sheet
    if state == "partial":  # the first two criteria only, no overall comment yet
        keep = list(points)[:2]
        points, comments, overall = {k: points[k] for k in keep}, {k: comments[k] for k in keep}, ""
    user = assignment.expert.user
    scoring.save_draft(actor=user, assignment=assignment, points=points, comments=comments, comment=overall)
    if state == "submitted":
        scoring.submit(actor=user, assignment=assignment)


def _score_all(call: Call, ref: tuple, partial: bool) -> None:
    expected = PLANS[ref][0]
    for proposal in call.proposals.filter(status=ProposalStatus.UNDER_REVIEW).select_related("lead_organization"):
        lead = next(key for key in expected if ORG_NAMES[key] == proposal.lead_organization.name)
        assignments = sorted(
            proposal.assignments.filter(active=True).select_related("expert__user"),
            key=lambda a: (a.expert.user.username == "expert1", a.expert_id),
        )
        sheets = _panel(call, assignments, expected[lead], DISSENT.get(ref) == lead)
        tail = UNDER_REVIEW_TAIL[-len(assignments) :] if partial else []
        states = ["submitted"] * (len(assignments) - len(tail)) + tail
        for assignment, sheet, state in zip(assignments, sheets, states, strict=True):
            _score(assignment, sheet, state)


@contextmanager
def _running(notice: Notice):
    """A past notice, shown as running today just while an objection is filed; restored after."""
    original = {"starts_on": notice.starts_on, "ends_on": notice.ends_on}
    today = timezone.localdate()
    running = {"starts_on": min(today, notice.starts_on), "ends_on": max(today, notice.ends_on)}
    Notice.objects.filter(pk=notice.pk).update(**running)
    try:
        notice.refresh_from_db()
        yield notice
    finally:
        Notice.objects.filter(pk=notice.pk).update(**original)  # demo history
        notice.refresh_from_db()


def _objections(call: Call, ref: tuple, notice: Notice, admin: User) -> None:
    for username, lead, text, result in OBJECTIONS.get(ref, []):
        signer = User.objects.select_related("organization").get(username=username)
        proposal = call.proposals.get(lead_organization__name=ORG_NAMES[lead])
        with _running(notice):
            objection = decisions.submit_objection(
                actor=signer,
                notice=notice,
                text=text,
                real_name=signer.display_name,
                unit_name=signer.organization.name if signer.organization else "",
                proposal=proposal,
            )
        if result:
            decisions.handle_objection(actor=admin, objection=objection, upheld=False, result=result)


def _history(call: Call, day: date) -> None:
    """Demo history: the review's timestamps, all "now" so far, moved onto a timeline from ``day``
    (the draw) with plain updates; the notice dates were set by open_notice and are kept."""
    for draw in Draw.objects.filter(call=call):
        Draw.objects.filter(pk=draw.pk).update(committed_at=_at(day, 9, 30), drawn_at=_at(day, 10))
        for inv in Invitation.objects.filter(draw=draw, invited_at__isnull=False):
            invited = _at(day, 10) if inv.rank <= draw.panel_size else _at(day + timedelta(days=1), 9)
            answered = invited + timedelta(hours=2 + inv.rank) if inv.responded_at else None
            Invitation.objects.filter(pk=inv.pk).update(
                invited_at=invited, respond_by=invited + timedelta(days=3), responded_at=answered
            )
    Assignment.objects.filter(proposal__call=call).update(created_at=_at(day + timedelta(days=2), 9))
    for k, score in enumerate(Score.objects.filter(assignment__proposal__call=call).order_by("pk")):
        when = _at(day + timedelta(days=6 + k % 4), 9 + k % 7, 10 * (k % 6))
        submitted = when if score.status == ScoreStatus.SUBMITTED else None
        Score.objects.filter(pk=score.pk).update(submitted_at=submitted, updated_at=when)
    Result.objects.filter(proposal__call=call).update(computed_at=_at(day + timedelta(days=12), 15))
    Recommendation.objects.filter(call=call).update(confirmed_at=_at(day + timedelta(days=13), 10))
    notice = Notice.objects.filter(call=call).first()
    if notice is None:
        return
    finalised = _at(notice.ends_on + timedelta(days=1), 10) if notice.finalised_at else None
    Notice.objects.filter(pk=notice.pk).update(published_at=_at(notice.starts_on, 9), finalised_at=finalised)
    for i, objection in enumerate(notice.objections.order_by("pk")):
        filed = _at(notice.starts_on + timedelta(days=i), 14 + i)
        handled = _at(notice.starts_on + timedelta(days=i + 1), 11) if objection.handled_at else None
        Objection.objects.filter(pk=objection.pk).update(submitted_at=filed, handled_at=handled)


NOTICE_LEAD = 16  # days from the draw to the notice
RUNNING_FOR = 2  # days the notice of the call in notice has been running


def _review(call: Call, ref: tuple, status: str, reason: str, admin: User) -> None:
    """Take one closed call to ``status`` through the services, then date it."""
    amounts = PLANS[ref][1]
    today = timezone.localdate()
    if status == S.UNDER_REVIEW:
        day = today - timedelta(days=10)
    elif status == S.IN_NOTICE:
        day = today - timedelta(days=RUNNING_FOR + NOTICE_LEAD)
    else:
        day = timezone.localtime(call.deadline).date() + timedelta(days=10)
    with transaction.atomic():
        if not call.draws.exists():
            review_setup(call, admin, backups=5)
        call = decisions.start_review(actor=admin, call=call)
        _score_all(call, ref, partial=status == S.UNDER_REVIEW)
        if status != S.UNDER_REVIEW:
            ranked = decisions.rank_call(actor=admin, call=call)
            winners = default_winners(ranked, call.max_winners)
            if status == S.FAILED:
                if winners:
                    raise ValueError(f"{call.code}: a proposal passed, the call cannot fail")
                decisions.fail_without_winner(actor=admin, call=call, reason=reason)
            else:
                if len(winners) != len(amounts):
                    raise ValueError(f"{call.code}: {len(winners)} proposals passed, {len(amounts)} amounts given")
                decisions.confirm_winners(
                    actor=admin, call=call, amounts=dict(zip(winners, map(Decimal, amounts), strict=True))
                )
                # Opened today (a notice may not start in the past), then moved onto the call's history.
                notice = decisions.open_notice(actor=admin, call=call)
                shift = day + timedelta(days=NOTICE_LEAD) - notice.starts_on
                Notice.objects.filter(pk=notice.pk).update(
                    starts_on=notice.starts_on + shift, ends_on=notice.ends_on + shift
                )
                notice.refresh_from_db()
                _objections(call, ref, notice, admin)
                if status == S.AWARDED:
                    call.refresh_from_db()  # open_notice moved it on but returns only the notice
                    decisions.finalise(actor=admin, call=call)
        _history(call, day)


def seed_reviews(stdout) -> int:
    """Take the review-stage demo calls through expert review; return how many objects were created.

    Demo history, not events: mails go to a dummy backend and eager tasks do not log each run.
    """
    loggers = [logging.getLogger(name) for name in ("celery.app.trace", "kombu.connection")]
    levels = [logger.level for logger in loggers]
    try:
        for logger in loggers:
            logger.setLevel(logging.ERROR)
        with override_settings(EMAIL_BACKEND="django.core.mail.backends.dummy.EmailBackend"):
            return _seed(stdout)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _counts() -> dict:
    return {
        "draws": Draw.objects.count(),
        "scores": Score.objects.count(),
        "results": Result.objects.count(),
        "winners": Recommendation.objects.count(),
        "notices": Notice.objects.count(),
        "objections": Objection.objects.count(),
    }


def _seed(stdout) -> int:
    year = timezone.localdate().year
    admin = User.objects.get(username="admin")
    before, done = _counts(), []
    for item in CALLS:
        offset, number, *_rest, status, _when = item["ref"]
        if (offset, number) not in PLANS:
            continue
        call = Call.objects.select_related("programme").get(code=f"JB-{year + offset}-{number:03d}")
        if call.status != S.CLOSED:  # reviewed by an earlier run (or by hand): leave it as it is
            continue
        _review(call, (offset, number), status, item.get("reason", ""), admin)
        call.refresh_from_db()
        if call.status != status:
            raise ValueError(f"{call.code} ended up {call.status}, not {status}")
        done.append(call.code)
    after = _counts()
    new = {key: after[key] - before[key] for key in after}
    stdout.write(
        f"Demo reviews: {len(done)} calls taken through review ({'、'.join(done) or 'none'}): "
        + ", ".join(f"{n} {key}" for key, n in new.items())
        + f" created ({after['scores']} scores, {after['results']} results, {after['notices']} notices in total).\n"
    )
    return sum(new.values())
