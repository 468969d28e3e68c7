"""Exports: the workbooks' exact content and format, permissions, reproducibility, budgets, CLI, expiry."""

import io
import os
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.test import TestCase
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from calls.models import Call
from config.storage import private_storage
from exports import builders, services
from exports.builders import award_list
from exports.builders.base import FIXED_TIME
from exports.models import ExportJob, ExportStatus
from proposals.choices import ProposalStatus, TeamRole, UnitRole
from proposals.models import Person, Proposal, ProposalUnit, TeamMember
from reviews import decisions
from reviews.models import Notice, Recommendation, Result, Score, ScoreItem, ScoreStatus
from tests.factories import OrganizationFactory
from tests.factories_proposals import new_person_id
from tests.factories_reviews import add_draw, review_call, score_totals

pytestmark = pytest.mark.django_db
AWARD_HEADER = [
    "序号",
    "榜单编号",
    "榜单名称",
    "发榜单位",
    "揭榜单位（牵头）",
    "联合单位",
    "项目负责人",
    "支持方式",
    "综合得分",
    "排名",
    "拟支持财政经费（万元）",
    "企业出资（万元）",
    "实施周期（月）",
    "备注",
]


def export(**kwargs) -> ExportJob:
    """Request an export and run its queued task (eagerly) as the commit would."""
    with TestCase.captureOnCommitCallbacks(execute=True):
        return services.request_export(**kwargs)


def committing(response_factory):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return response_factory()


# --- building blocks --------------------------------------------------------------------------------
def add_team(proposal, *, members=(), pi="王负责"):
    lead_unit = proposal.units.get(role=UnitRole.LEAD)
    for name in members:
        ProposalUnit.objects.create(
            proposal=proposal, organization=OrganizationFactory(name=name), role=UnitRole.MEMBER
        )
    person = Person.objects.create(id_number=new_person_id(), name=pi)
    TeamMember.objects.create(
        proposal=proposal, person=person, unit=lead_unit, role=TeamRole.PI, months_per_year=Decimal("6")
    )


def finish(review, administrator, totals, amounts):
    """Score, rank, confirm the winners, run the notice and finalise: a finished call."""
    for proposal, marks in zip(review.proposals, totals, strict=True):
        score_totals(review, proposal, marks)
    decisions.rank_call(actor=administrator, call=review.call)
    decisions.confirm_winners(actor=administrator, call=review.call, amounts=amounts)
    notice = decisions.open_notice(actor=administrator, call=review.call)
    today = timezone.localdate()
    Notice.objects.filter(pk=notice.pk).update(starts_on=today - timedelta(days=10), ends_on=today - timedelta(days=3))
    assert decisions.finalise(actor=administrator, call=review.call) == "awarded"
    return review.refresh()


@pytest.fixture
def horse_race(administrator):
    """A finished 赛马制（2家） call: three proposals, the first two win."""
    review = review_call(
        administrator, proposals=3, experts=3, horse_race=2, code="JB-2025-B002", fiscal_cap=Decimal("300.00")
    )
    first, second, _third = review.proposals
    add_team(first, members=["联合大学", "联合研究院"], pi="张牵头")
    add_team(second, pi="李牵头")
    amounts = {first.pk: Decimal("100"), second.pk: Decimal("80.5")}
    return finish(review, administrator, ([90, 88, 86], [80, 82, 84], [70, 60, 65]), amounts)


def sheet_of(data: bytes):
    book = load_workbook(io.BytesIO(data))
    return book, book.worksheets[0]


def values(ws, first_row=3):
    return [list(row) for row in ws.iter_rows(min_row=first_row, values_only=True)]


def job_bytes(job) -> bytes:
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE, job.error
    with private_storage().open(job.file.name, "rb") as handle:
        return handle.read()


def build_bytes(kind, params) -> bytes:
    out = io.BytesIO()
    builders.build(kind, builders.resolve(kind, params).params, out)
    return out.getvalue()


# --- award list -------------------------------------------------------------------------------------
def test_award_list_of_a_horse_race_call(horse_race, administrator):
    call = horse_race.call
    first, second, _third = horse_race.proposals
    job = export(actor=administrator, kind="award_list", params={"call": call.code})
    book, ws = sheet_of(job_bytes(job))

    assert book.sheetnames == ["拟立项名单"]
    assert (
        ws["A1"].value
        == f"{call.programme.year}年{call.programme.name}揭榜挂帅项目拟立项名单（{call.code} {call.title}）"
    )
    assert ws["A1"].font.bold and "A1:N1" in {str(r) for r in ws.merged_cells.ranges}
    assert [c.value for c in ws[2]] == AWARD_HEADER
    assert all(c.font.bold for c in ws[2])
    assert ws.freeze_panes == "A3"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.sheet_properties.pageSetUpPr.fitToPage
    issuer = call.issuer.name
    assert values(ws) == [
        [1, call.code, call.title, issuer, first.lead_organization.name, "联合大学、联合研究院", "张牵头",
         "赛马制（2家）", 88, 1, 100, 1000, 36, None],
        [2, call.code, call.title, issuer, second.lead_organization.name, None, "李牵头",
         "赛马制（2家）", 82, 2, 80.5, 1000, 36, None],
    ]  # fmt: skip
    for column in "IKL":
        assert ws[f"{column}3"].number_format == "0.00"
    # Widths fitted to Chinese text: the header 拟支持财政经费（万元） is 11 CJK characters wide.
    assert ws.column_dimensions["K"].width >= 22
    assert job.row_count == 2 and job.progress == 100 and job.filename == f"拟立项名单-{call.code}.xlsx"


def test_award_list_of_a_programme_year_is_ordered_by_call_code_then_rank(horse_race, administrator):
    other = review_call(administrator, proposals=2, experts=3, programme=horse_race.programme, code="JB-2025-A001")
    add_team(other.proposals[1], pi="赵牵头")
    finish(other, administrator, ([70, 70, 70], [80, 80, 80]), {other.proposals[1].pk: Decimal("50")})
    review_call(administrator, proposals=1, experts=1, code="JB-2024-Z999")  # other programme: not listed

    params = {"programme": horse_race.programme.pk, "year": horse_race.programme.year}
    job = export(actor=administrator, kind="award_list", params=params)
    _book, ws = sheet_of(job_bytes(job))
    rows = values(ws)
    assert [(r[0], r[1], r[9]) for r in rows] == [
        (1, "JB-2025-A001", 1),
        (2, "JB-2025-B002", 1),
        (3, "JB-2025-B002", 2),
    ]
    assert rows[0][7] == "单一支持" and rows[0][6] == "赵牵头"
    assert ws["A1"].value == f"{horse_race.programme.year}年{horse_race.programme.name}揭榜挂帅项目拟立项名单"


# --- score sheet ------------------------------------------------------------------------------------
@pytest.fixture
def scored(administrator):
    review = review_call(administrator, proposals=2, experts=2)
    for proposal in review.proposals:
        score_totals(review, proposal, [80, 90])
    decisions.rank_call(actor=administrator, call=review.call)
    return review


def test_score_sheet_rows_and_expert_names_for_administrators(scored, administrator):
    job = export(actor=administrator, kind="score_sheet", params={"call": scored.call.code})
    book, ws = sheet_of(job_bytes(job))
    assert book.sheetnames == ["评分明细"]
    rows = values(ws)
    assert len(rows) == 2 * 2 * 3 + 2 * 2 + 2 == job.row_count
    first = scored.proposals[0]
    expert = scored.experts[0]
    assert rows[0][:7] == [scored.call.code, first.pk, first.title, first.lead_organization.name, "评分", expert.name,
                           scored.criteria[0].name]  # fmt: skip
    assert rows[0][7] == 40 and rows[0][8] == 40 and ws["H3"].number_format == "0.00"
    assert rows[3][4:7] == ["专家合计", expert.name, "合计"] and rows[3][8] == 80
    aggregate = rows[8]
    assert aggregate[4] == "汇总" and aggregate[8] == 85 and aggregate[9] in (1, 2)
    assert isinstance(rows[0][11], type(rows[3][11])) and rows[0][11] is not None  # submitted time


def test_score_sheet_hides_expert_names_from_supervisors(scored, supervisor):
    job = export(actor=supervisor, kind="score_sheet", params={"call": scored.call.code, "names": 1})
    _book, ws = sheet_of(job_bytes(job))
    everything = {str(v) for row in values(ws, first_row=1) for v in row if v is not None}
    assert not {e.name for e in scored.experts} & everything
    assert [r[5] for r in values(ws)[:8:4]] == ["专家1", "专家2"]


# --- draw record and formal review ------------------------------------------------------------------
def test_draw_record(administrator):
    review = review_call(administrator, proposals=1, experts=3)
    draw, invitations = add_draw(review, administrator, backups=2)
    data = build_bytes("draw_record", {"call": review.call.code})
    book, ws = sheet_of(data)
    assert book.sheetnames == ["专家抽取记录"]
    assert [c.value for c in ws[2]][:7] == ["序号", "榜单编号", "抽取编号", "抽取时间", "规则版本", "名次", "专家姓名"]
    rows = values(ws)
    assert [r[5] for r in rows] == [1, 2, 3, 4, 5]
    assert [r[6] for r in rows] == [i.expert.name for i in invitations]
    assert rows[0][11] == draw.commitment and rows[0][12] == draw.seed
    assert ws["D3"].number_format == "yyyy-mm-dd hh:mm"
    # Beijing time, written without a zone.
    assert rows[0][3] == timezone.localtime(draw.drawn_at).replace(tzinfo=None, microsecond=rows[0][3].microsecond)


def test_formal_review_results_with_reasons_and_formulas_kept_as_text(administrator):
    review = review_call(administrator, proposals=3, experts=1)
    passed, rejected, returned = review.proposals
    Proposal.objects.filter(pk=passed.pk).update(title='=HYPERLINK("http://evil","点我")')
    Proposal.objects.filter(pk=rejected.pk).update(status=ProposalStatus.REJECTED, review_reason="缺少科研诚信承诺书。")
    Proposal.objects.filter(pk=returned.pk).update(status=ProposalStatus.RETURNED, review_reason="+1 预算表需盖章")
    _book, ws = sheet_of(build_bytes("formal_review", {"call": review.call.code}))
    rows = values(ws)
    assert [(r[2], r[6], r[7]) for r in rows] == [
        (passed.pk, "通过", None),
        (rejected.pk, "不通过", "缺少科研诚信承诺书。"),
        (returned.pk, "退回修改", "+1 预算表需盖章"),
    ]
    for cell in (ws["D3"], ws["H5"]):
        assert cell.data_type == "s" and cell.quotePrefix
    assert ws["D3"].value == '=HYPERLINK("http://evil","点我")'


def test_formula_looking_text_in_the_award_list_stays_text(horse_race, administrator):
    Call.objects.filter(pk=horse_race.call.pk).update(title="@SUM(1,2)")
    _book, ws = sheet_of(build_bytes("award_list", {"call": horse_race.call.code}))
    assert ws["C3"].value == "@SUM(1,2)" and ws["C3"].data_type == "s"


# --- reproducibility, CLI ---------------------------------------------------------------------------
def test_two_identical_requests_give_identical_bytes(horse_race, administrator):
    one = export(actor=administrator, kind="award_list", params={"call": horse_race.call.code})
    time.sleep(1.1)  # a zip timestamp would differ now
    two = export(actor=administrator, kind="award_list", params={"call": horse_race.call.code})
    assert job_bytes(one) == job_bytes(two)
    one.refresh_from_db()
    two.refresh_from_db()
    assert one.sha256 == two.sha256
    book, _ws = sheet_of(job_bytes(one))
    assert book.properties.created == FIXED_TIME and book.properties.modified == FIXED_TIME


def test_the_cli_writes_the_same_workbook_as_the_job(horse_race, administrator, tmp_path):
    call = horse_race.call
    job = export(actor=administrator, kind="award_list", params={"call": call.code})
    out = tmp_path / "award.xlsx"
    call_command("export", "award_list", "--call", call.code, "--out", str(out), stdout=io.StringIO())
    assert out.read_bytes() == job_bytes(job)

    params = {"programme": call.programme_id, "year": call.programme.year}
    job = export(actor=administrator, kind="award_list", params=params)
    year_out = tmp_path / "year.xlsx"
    call_command(
        "export", "award_list", "--programme", str(call.programme_id), "--year", str(call.programme.year),
        "--out", str(year_out), stdout=io.StringIO(),
    )  # fmt: skip
    assert year_out.read_bytes() == job_bytes(job)
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".tmp-")]


def test_the_cli_writes_the_other_kinds(scored, administrator, tmp_path):
    job = export(actor=administrator, kind="score_sheet", params={"call": scored.call.code})
    out = tmp_path / "scores.xlsx"
    call_command("export", "score_sheet", "--call", scored.call.code, "--out", str(out), stdout=io.StringIO())
    assert out.read_bytes() == job_bytes(job)
    for kind in ("draw_record", "formal_review"):
        call_command(
            "export", kind, "--call", scored.call.code, "--out", str(tmp_path / f"{kind}.xlsx"), stdout=io.StringIO()
        )
        assert load_workbook(tmp_path / f"{kind}.xlsx").sheetnames


def test_the_cli_refuses_an_unknown_call(tmp_path, db):
    from django.core.management import CommandError

    with pytest.raises(CommandError, match="JB-0000-X"):
        call_command("export", "award_list", "--call", "JB-0000-X", "--out", str(tmp_path / "x.xlsx"))


# --- permissions ------------------------------------------------------------------------------------
def request_url():
    return reverse("exports:request")


def test_who_may_request_an_award_list(horse_race, cast, client_for, issuer):
    code = horse_race.call.code
    allowed = ["administrator", "supervisor"]
    for name, user in cast.items():
        response = client_for(user).post(request_url(), {"kind": "award_list", "call": code})
        assert response.status_code == (302 if name in allowed else 403), name
    assert ExportJob.objects.count() == 2
    # The issuer of the call, once its notice began: the award list only.
    Call.objects.filter(pk=horse_race.call.pk).update(issuer=issuer.organization)
    assert client_for(issuer).post(request_url(), {"kind": "award_list", "call": code}).status_code == 302
    assert client_for(issuer).post(request_url(), {"kind": "score_sheet", "call": code}).status_code == 403
    assert client_for(None).post(request_url(), {"kind": "award_list", "call": code}).status_code == 302  # login
    assert ExportJob.objects.count() == 3
    missing = client_for(cast["administrator"]).post(request_url(), {"kind": "award_list", "call": "JB-9-X"})
    assert missing.status_code == 404


def test_list_progress_and_download_for_the_cast(horse_race, cast, client_for):
    code = horse_race.call.code
    job = export(actor=cast["supervisor"], kind="award_list", params={"call": code})
    admin_job = export(actor=cast["administrator"], kind="award_list", params={"call": code})
    urls = {
        "progress": reverse("exports:progress", args=[job.pk]),
        "download": reverse("exports:download", args=[job.pk]),
    }
    for name, user in cast.items():
        client = client_for(user)
        listing = client.get(reverse("exports:jobs"))
        assert listing.status_code == 200
        listed = {j.pk for j in listing.context["jobs"]}
        expected = {job.pk, admin_job.pk} if name == "administrator" else ({job.pk} if name == "supervisor" else set())
        assert listed == expected, name
        for what, url in urls.items():
            response = client.get(url)
            assert response.status_code == (200 if name in ("administrator", "supervisor") else 404), (name, what)
    download = client_for(cast["supervisor"]).get(urls["download"])
    assert b"".join(download.streaming_content) == job_bytes(job)
    assert "attachment" in download["Content-Disposition"]
    assert client_for(cast["supervisor"]).get(reverse("exports:download", args=[admin_job.pk])).status_code == 404
    assert client_for(None).get(urls["download"]).status_code == 302


def test_progress_partial_polls_while_running_and_links_the_file_when_done(horse_race, administrator, client_for):
    job = export(actor=administrator, kind="award_list", params={"call": horse_race.call.code})
    client = client_for(administrator)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, progress=40)
    body = client.get(reverse("exports:progress", args=[job.pk])).content.decode()
    assert 'hx-trigger="every 1s"' in body and 'value="40"' in body and "<script" not in body
    assert client.get(reverse("exports:download", args=[job.pk])).status_code == 404  # not while running
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.DONE, progress=100)
    body = client.get(reverse("exports:progress", args=[job.pk])).content.decode()
    assert "hx-trigger" not in body and reverse("exports:download", args=[job.pk]) in body


def test_a_job_left_running_by_a_dead_worker_says_when_it_restarts(horse_race, administrator, client_for, settings):
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 1800, "unacked_restore_interval": 10}
    job = export(actor=administrator, kind="award_list", params={"call": horse_race.call.code})
    client = client_for(administrator)
    started = timezone.now() - timedelta(minutes=5)
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.RUNNING, progress=40, started_at=started)
    body = client.get(reverse("exports:progress", args=[job.pk])).content.decode()
    assert f"export-interrupted-{job.pk}" not in body  # still within the task's time limit: just running

    started = timezone.now() - timedelta(minutes=20)
    ExportJob.objects.filter(pk=job.pk).update(started_at=started)
    body = client.get(reverse("exports:progress", args=[job.pk])).content.decode()
    restart = timezone.localtime(started + timedelta(seconds=1810)).strftime("%Y-%m-%d %H:%M")
    assert f"export-interrupted-{job.pk}" in body and restart in body and "自动重新开始" in body
    assert 'hx-trigger="every 1s"' in body  # the page keeps polling and shows the rebuilt file


def test_a_failing_row_count_fails_the_job_instead_of_leaving_it_running(horse_race, administrator, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("count failed")

    monkeypatch.setattr(award_list, "count", broken)
    job = export(actor=administrator, kind="award_list", params={"call": horse_race.call.code})
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and "ValueError" in job.error


def test_a_failure_is_readable_and_can_be_retried_from_the_page(horse_race, administrator, client_for, monkeypatch):
    def broken(*args, **kwargs):
        raise ValueError("boom")

    monkeypatch.setattr(award_list, "build", broken)
    job = export(actor=administrator, kind="award_list", params={"call": horse_race.call.code})
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED and "ValueError" in job.error and not job.file
    page = client_for(administrator).get(reverse("exports:jobs")).content.decode()
    assert job.error in page and reverse("exports:retry", args=[job.pk]) in page
    monkeypatch.undo()
    response = committing(lambda: client_for(administrator).post(reverse("exports:retry", args=[job.pk])))
    assert response.status_code == 302
    assert job_bytes(job)[:2] == b"PK"


def test_an_issuer_no_longer_issuing_the_call_is_told_on_retry(horse_race, issuer, client_for, monkeypatch):
    Call.objects.filter(pk=horse_race.call.pk).update(issuer=issuer.organization)
    monkeypatch.setattr(award_list, "build", lambda *a, **k: (_ for _ in ()).throw(ValueError("boom")))
    job = export(actor=issuer, kind="award_list", params={"call": horse_race.call.code})
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED
    Call.objects.filter(pk=horse_race.call.pk).update(issuer=OrganizationFactory())  # handed to another issuer
    client = client_for(issuer)
    response = client.post(reverse("exports:retry", args=[job.pk]), follow=True)
    assert response.status_code == 200 and "无权再次申请该导出" in response.content.decode()
    job.refresh_from_db()
    assert job.status == ExportStatus.FAILED


# --- expiry -----------------------------------------------------------------------------------------
def test_cleanup_removes_expired_files(horse_race, administrator, client_for, settings):
    job = export(actor=administrator, kind="award_list", params={"call": horse_race.call.code})
    fresh = export(actor=administrator, kind="award_list", params={"call": horse_race.call.code})
    job.refresh_from_db()
    path = private_storage().path(job.file.name)
    assert os.path.exists(path)
    assert job.expires_at - job.finished_at == timedelta(hours=settings.EXPORT_TTL_HOURS)
    stale = os.path.join(os.path.dirname(path), ".tmp-left-by-a-killed-worker.xlsx")
    open(stale, "wb").close()
    os.utime(stale, (time.time() - 7 * 3600,) * 2)
    ExportJob.objects.filter(pk=job.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    assert services.cleanup() == 1
    job.refresh_from_db()
    assert job.status == ExportStatus.EXPIRED and not job.file and not os.path.exists(path)
    assert not os.path.exists(stale)
    assert client_for(administrator).get(reverse("exports:download", args=[job.pk])).status_code == 404
    fresh.refresh_from_db()
    assert fresh.status == ExportStatus.DONE and job_bytes(fresh)


# --- query budgets ----------------------------------------------------------------------------------
def bulk_scores(review):
    """Submitted scores for every assignment, written directly (the budget is about reading)."""
    for assignment in review.assignments.values():
        score = Score.objects.create(
            assignment=assignment, status=ScoreStatus.SUBMITTED, total=Decimal("75"), submitted_at=timezone.now()
        )
        ScoreItem.objects.bulk_create(
            ScoreItem(score=score, criterion=c, points=Decimal("25"), comment="好") for c in review.criteria
        )
    for rank, proposal in enumerate(review.proposals, start=1):
        Result.objects.create(proposal=proposal, count=2, final=Decimal("75"), method="mean", rank=rank, passed=True)


@pytest.mark.parametrize("kind", ["award_list", "score_sheet", "draw_record", "formal_review"])
def test_builders_query_count_does_not_grow_with_rows(kind, administrator, django_assert_max_num_queries):
    for size in (5, 50):
        review = review_call(administrator, proposals=size, experts=2)
        bulk_scores(review)
        add_draw(review, administrator, backups=size)
        for proposal in review.proposals:
            add_team(proposal, members=[f"成员{proposal.pk}甲", f"成员{proposal.pk}乙"])
            Recommendation.objects.create(
                proposal=proposal, call=review.call, fiscal_amount=Decimal("10"), confirmed_by=administrator
            )
        params = builders.resolve(kind, {"call": review.call.code, "names": True}).params
        out = io.BytesIO()
        with django_assert_max_num_queries(5):
            rows = builders.build(kind, params, out)
        assert rows >= size


def test_the_fast_sheet_writes_exactly_what_openpyxl_writes():
    """exports.builders.base._Sheet overrides a private openpyxl method (pinned openpyxl): this
    proves, on the installed version, that it writes the same XML as openpyxl's own sheet."""
    from datetime import datetime

    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.worksheet._write_only import WriteOnlyWorksheet

    from exports.builders.base import _Sheet

    def sheet_xml(sheet_class) -> bytes:
        book = Workbook(write_only=True)
        sheet = sheet_class(parent=book, title="t")
        book._add_sheet(sheet)
        for n in range(3):
            bold = WriteOnlyCell(sheet, value=f"=不是公式{n}")
            bold.font, bold.data_type = Font(bold=True), "s"
            number = WriteOnlyCell(sheet, value=1.5 + n)
            number.number_format = "0.00"
            sheet.append([n, None, bold, number, Decimal("2.675"), datetime(2026, 1, 2, 3, 4), "文本", True])
        sheet.close()
        with open(sheet._writer.out, "rb") as handle:
            return handle.read()

    assert hasattr(WriteOnlyWorksheet, "_values_to_row")
    assert sheet_xml(_Sheet) == sheet_xml(WriteOnlyWorksheet)
