"""The expert pool as a spreadsheet: template, import (all or nothing), export, pool pages."""

import io
import re
import zipfile
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from audit.models import AuditEntry
from experts import excel, services
from experts.choices import ConflictReason
from experts.models import AvoidPerson, AvoidUnit, Conflict, Employment, Expert
from proposals.models import Proposal
from tests.factories import OrganizationFactory, UserFactory, make_code
from tests.factories_proposals import complete_proposal, open_call, person_id

pytestmark = pytest.mark.django_db

H = {column.key: column.header for column in excel.COLUMNS}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# --- helpers -------------------------------------------------------------------------------
def pid(n: int) -> str:
    """ID numbers of this module's people: clear of those the proposal factories hand out."""
    return person_id(800_000 + n)


def row(n: int, unit, **values) -> dict:
    """A valid row for expert n employed by unit (keys are column keys)."""
    data = {
        "username": f"expert{n}",
        "name": f"专家{n:03d}",
        "id_number": pid(n),
        "employer": unit.credit_code,
        "title": "研究员",
        "expert_type": "技术",
        "fields": "新型储能、新能源",
        "phone": f"1380000{n:04d}",
        "email": f"expert{n}@example.org",
        "active": "是",
        "yearly_cap": 10,
        "avoid_units": "",
        "avoid_people": "",
    }
    data.update(values)
    return data


def xlsx(rows, headers=None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = excel.SHEET
    headers = headers or excel.HEADERS
    sheet.append(headers)
    by_header = {column.header: column.key for column in excel.COLUMNS}
    for values in rows:
        sheet.append([] if values is None else [values.get(by_header.get(h, h), "") for h in headers])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text typed by a person, not a formula
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def upload(content: bytes, name: str = "专家库.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type=XLSX)


def post(client, content: bytes, name: str = "专家库.xlsx", *, language: str = ""):
    response = client.post(f"{language}/experts/import/", {"file": upload(content, name)})
    assert response.status_code == 200
    return response.context["result"]


def problems(result) -> set[tuple[int, str]]:
    return {(p.row, p.column) for p in result.problems}


def state() -> dict:
    """What an import may change."""
    return {
        "experts": Expert.objects.count(),
        "employments": Employment.objects.count(),
        "avoid": AvoidUnit.objects.count() + AvoidPerson.objects.count(),
        "audit": AuditEntry.objects.count(),
        "users": UserFactory._meta.model.objects.count(),
    }


@pytest.fixture
def employers(db):
    return OrganizationFactory(name="内蒙古大学"), OrganizationFactory(name="包头稀土研究院")


@pytest.fixture
def admin_client(administrator, client_for):
    return client_for(administrator)


def make_pool(n: int, employer, actor) -> None:
    result = excel.import_pool(upload(xlsx([row(i, employer) for i in range(1, n + 1)])), actor=actor)
    assert result.ok and result.created == n, result.problems


# --- template ------------------------------------------------------------------------------
def test_template_downloads_and_reopens_with_headers_example_and_help(admin_client):
    response = admin_client.get("/experts/template/")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == [excel.SHEET, excel.HELP_SHEET]
    sheet = book[excel.SHEET]
    assert [c.value for c in sheet[1]] == excel.HEADERS
    assert all(c.font.b for c in sheet[1]) and sheet.freeze_panes == "A2"
    example = dict(zip(excel.HEADERS, [c.value for c in sheet[2]], strict=True))
    assert example["专家类型"] == "技术" and example["是否有效"] == "是" and len(example["身份证号"]) == 18
    lists = {str(dv.sqref): dv.formula1 for dv in sheet.data_validations.dataValidation}
    assert lists == {"F2:F5001": '"技术,管理,财务"', "J2:J5001": '"是,否"'}
    for index, header in enumerate(excel.HEADERS, start=1):
        width = sheet.column_dimensions[sheet.cell(1, index).column_letter].width
        assert width >= len(header) * 2, header  # CJK headers are two characters wide each
    help_sheet = book[excel.HELP_SHEET]
    explained = {r[0] for r in help_sheet.iter_rows(min_row=4, values_only=True)}
    assert set(excel.HEADERS) <= explained


def test_the_template_as_downloaded_is_refused_for_its_example_row(admin_client):
    before = state()
    result = post(admin_client, admin_client.get("/experts/template/").content)
    assert (2, "登录名") in problems(result) and (2, "工作单位统一社会信用代码") in problems(result)
    assert state() == before


# --- import --------------------------------------------------------------------------------
def test_valid_file_imports_experts_users_employment_and_avoid_lists(admin_client, employers, administrator):
    uni, institute = employers
    existing = UserFactory(username="expert3", display_name="", email="", is_expert=False)
    other_unit = OrganizationFactory()
    unregistered = make_code(999_001)
    rows = [
        row(1, uni, avoid_units=f"{other_unit.credit_code}、{unregistered}"),
        row(2, institute, fields="稀土新材料", expert_type="财务", active="否", yearly_cap=3, title=""),
        row(3, uni, avoid_people=f"李四、王五:{pid(501)}", email=""),
    ]
    before = AuditEntry.objects.count()
    result = post(admin_client, xlsx(rows))
    assert result.ok, result.problems
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)

    one, two, three = (Expert.objects.get(user__username=f"expert{n}") for n in (1, 2, 3))
    assert one.fields == ["energy_storage", "new_energy"] and one.id_number == pid(1)
    assert (two.expert_type, two.active, two.yearly_cap, two.fields) == ("finance", False, 3, ["rare_earth"])
    assert one.current_employment.organization == uni and two.current_employment.organization == institute
    assert set(one.avoid_units.values_list("credit_code", "name")) == {
        (other_unit.credit_code, other_unit.name),
        (unregistered, ""),
    }
    assert set(three.avoid_people.values_list("name", "id_number")) == {("李四", ""), ("王五", pid(501))}
    # New users: expert flag, e-mail from the sheet, no usable password (an administrator sends a reset).
    assert one.user.is_expert and one.user.email == "expert1@example.org" and not one.user.has_usable_password()
    # An existing user is linked and made an expert; its own blank details are filled, nothing else.
    existing.refresh_from_db()
    assert three.user == existing and existing.is_expert and existing.display_name == three.name
    assert existing.has_usable_password()

    actions = list(AuditEntry.objects.filter(seq__gt=before).values_list("action", flat=True))
    assert actions.count("expert.create") == 3 and actions.count("expert.set_employer") == 3
    assert actions.count("user.create") == 2 and actions.count("user.update") == 1
    assert actions.count("expert.avoid_units") == 1 and actions.count("expert.avoid_people") == 1
    assert set(AuditEntry.objects.filter(seq__gt=before).values_list("actor", flat=True)) == {administrator.pk}


@pytest.mark.parametrize(
    "values, column, reason",
    [
        ({"id_number": pid(7)[:17] + ("0" if pid(7)[17] != "0" else "1")}, "身份证号", "check character"),
        ({"id_number": "15010219800101"}, "身份证号", "18 characters"),
        ({"employer": make_code(888_888)}, "工作单位统一社会信用代码", "register the unit first"),
        ({"employer": "91150100ABC"}, "工作单位统一社会信用代码", "18 characters"),
        ({"expert_type": "专业"}, "专家类型", "专业"),
        ({"fields": "新型储能、人工智能"}, "技术领域", "人工智能"),
        ({"yearly_cap": 0}, "年度评审上限", "between 1"),
        ({"yearly_cap": "很多"}, "年度评审上限", "whole number"),
        ({"yearly_cap": 2.5}, "年度评审上限", "whole number"),
        ({"avoid_units": "911501007"}, "回避单位信用代码", "18 characters"),
        ({"avoid_units": make_code(5)[:17] + "Z"}, "回避单位信用代码", "not allowed"),
        ({"avoid_people": f"王五:{pid(8)[:17]}9"}, "回避人员", "王五"),
        ({"active": "有效"}, "是否有效", "有效"),
        ({"email": "not-an-address"}, "邮箱", "not-an-address"),
        ({"name": ""}, "姓名", "required"),
        ({"fields": ""}, "技术领域", "required"),
        ({"username": "bad name!"}, "登录名", "letters"),
    ],
)
def test_each_bad_value_is_reported_with_row_and_column_and_nothing_changes(
    admin_client, employers, values, column, reason
):
    uni, _institute = employers
    before = state()
    result = post(admin_client, xlsx([row(1, uni), row(2, uni, **values)]), language="/en")
    assert not result.ok
    assert [(p.row, p.column) for p in result.problems] == [(3, column)], result.problems
    assert reason in result.problems[0].reason
    assert state() == before  # the good first row was not imported either


def test_reasons_are_in_the_readers_language(admin_client, employers):
    uni, _ = employers
    bad = pid(7)[:17] + ("0" if pid(7)[17] != "0" else "1")
    chinese = post(admin_client, xlsx([row(1, uni, id_number=bad)]))
    english = post(admin_client, xlsx([row(1, uni, id_number=bad)]), language="/en")
    assert "校验码" in chinese.problems[0].reason and "check character" in english.problems[0].reason


def test_duplicates_within_the_file_are_errors(admin_client, employers):
    uni, _ = employers
    rows = [row(1, uni), row(2, uni, username="expert1"), row(3, uni, id_number=pid(1))]
    before = state()
    result = post(admin_client, xlsx(rows), language="/en")
    assert problems(result) == {(3, "登录名"), (4, "身份证号")}
    assert "row 2" in result.problems[0].reason
    assert state() == before


def test_every_problem_of_every_row_is_listed_and_shown(admin_client, employers):
    uni, _ = employers
    rows = [row(1, uni, expert_type="x", yearly_cap=-1), None, row(2, uni, fields="乳业、外太空", employer="")]
    response = admin_client.post("/experts/import/", {"file": upload(xlsx(rows))})
    result = response.context["result"]
    # A blank line is skipped, and row numbers stay those of the sheet.
    assert problems(result) == {(2, "专家类型"), (2, "年度评审上限"), (4, "技术领域"), (4, "工作单位统一社会信用代码")}
    html = response.content.decode()
    assert 'data-testid="problems"' in html and "外太空" in html
    assert Expert.objects.count() == 0


def test_an_id_number_of_another_expert_is_refused(admin_client, employers, administrator):
    uni, _ = employers
    make_pool(1, uni, administrator)
    result = post(admin_client, xlsx([row(9, uni, id_number=pid(1))]))
    assert problems(result) == {(2, "身份证号")} and "expert1" in result.problems[0].reason


def test_an_administrators_login_is_refused_as_an_experts(admin_client, employers, administrator):
    uni, _ = employers
    before = state()
    result = post(admin_client, xlsx([row(1, uni), row(2, uni, username=administrator.username)]))
    assert problems(result) == {(3, "登录名")} and "不能作为评审专家" in result.problems[0].reason
    assert state() == before  # nothing written, not even the valid first row
    administrator.refresh_from_db()
    assert not administrator.is_expert


def test_missing_columns_and_files_that_are_not_xlsx(admin_client):
    result = post(admin_client, xlsx([], headers=["登录名", "姓名"]))
    assert (1, "身份证号") in problems(result) and (1, "专家类型") in problems(result)
    result = post(admin_client, b"PK\x03\x04 not really a zip")
    assert problems(result) == {(0, "")}
    response = admin_client.post("/experts/import/", {"file": upload(b"a,b", "pool.csv")})
    assert response.context["result"] is None and response.context["form"].errors


def test_reimporting_the_same_file_changes_nothing(admin_client, employers):
    uni, institute = employers
    content = xlsx(
        [
            row(1, uni, avoid_units=make_code(999_002), avoid_people=f"李四、王五:{pid(501)}"),
            row(2, institute, active="否", fields="乳业"),
        ]
    )
    assert post(admin_client, content).created == 2
    before = state()
    stamps = list(Expert.objects.order_by("pk").values_list("updated_at", flat=True))
    result = post(admin_client, content)
    assert result.ok and (result.created, result.updated, result.unchanged) == (0, 0, 2)
    assert state() == before
    assert list(Expert.objects.order_by("pk").values_list("updated_at", flat=True)) == stamps
    html = admin_client.post("/experts/import/", {"file": upload(content)}).content.decode()
    assert 'data-testid="unchanged"' in html


def test_a_changed_employer_closes_the_old_employment_and_opens_a_new_one(admin_client, employers):
    uni, institute = employers
    post(admin_client, xlsx([row(1, uni), row(2, uni)]))
    result = post(admin_client, xlsx([row(1, institute, title="教授"), row(2, uni)]))
    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    expert = Expert.objects.get(user__username="expert1")
    today = timezone.localdate()
    history = list(expert.employments.order_by("pk").values_list("organization", "started_on", "ended_on"))
    assert history == [(uni.pk, None, today - timedelta(days=1)), (institute.pk, today, None)]
    assert expert.title == "教授"
    # The 3-year rule sees both employers.
    assert expert.employers_within() == {uni.pk, institute.pk}
    entry = AuditEntry.objects.filter(action="expert.set_employer", object_id=str(expert.pk)).latest("seq")
    assert entry.after["organization"] == institute.pk
    assert entry.before["credit_code"] == uni.credit_code


def test_set_employer_history_over_time_and_same_day_correction(employers, administrator):
    uni, institute = employers
    third = OrganizationFactory()
    make_pool(1, uni, administrator)
    expert = Expert.objects.get()
    day = timezone.localdate() + timedelta(days=30)
    assert services.set_employer(expert, institute, on=day, actor=administrator)
    assert not services.set_employer(expert, institute, on=day + timedelta(days=5), actor=administrator)
    # Changed again on the day it was opened: a correction in place, no phantom employment.
    assert services.set_employer(expert, third, on=day, actor=administrator)
    history = list(expert.employments.order_by("pk").values_list("organization", "started_on", "ended_on"))
    assert history == [(uni.pk, None, day - timedelta(days=1)), (third.pk, day, None)]
    assert AuditEntry.objects.filter(action="expert.correct_employer").count() == 1


def test_employer_change_refreshes_conflicts_of_proposals_in_flight(
    admin_client, employers, lead_org, issuer_org, lead_applicant, django_capture_on_commit_callbacks
):
    uni, _ = employers
    proposal = complete_proposal(open_call(issuer=issuer_org), lead_applicant)
    Proposal.objects.filter(pk=proposal.pk).update(status="submitted")
    with django_capture_on_commit_callbacks(execute=True):
        post(admin_client, xlsx([row(1, uni)]))
    assert not Conflict.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        post(admin_client, xlsx([row(1, lead_org)]))
    conflict = Conflict.objects.get()
    assert (conflict.proposal, conflict.reason) == (proposal, ConflictReason.EMPLOYER_UNIT)


# --- export --------------------------------------------------------------------------------
def test_export_then_import_is_a_no_op(admin_client, employers):
    uni, institute = employers
    rows = [
        row(2, uni, name="王芳", avoid_units=f"{institute.credit_code}、{make_code(999_003)}"),
        row(1, institute, name='=HYPERLINK("http://x")', active="否", yearly_cap=25, title="", phone=""),
        row(3, uni, name="@李雷", title="-高级工程师", avoid_people=f"+韩梅梅、王五:{pid(502)}", expert_type="管理"),
    ]
    assert post(admin_client, xlsx(rows)).created == 3
    response = admin_client.get("/experts/export/")
    assert response.status_code == 200 and response["Content-Type"] == XLSX
    sheet = load_workbook(io.BytesIO(response.content))[excel.SHEET]
    assert [c.value for c in sheet[1]] == excel.HEADERS
    assert [r[1] for r in sheet.iter_rows(min_row=2, values_only=True)] == sorted(e.name for e in Expert.objects.all())
    before = state()
    result = post(admin_client, response.content)
    assert result.ok and (result.created, result.updated, result.unchanged) == (0, 0, 3), result.problems
    assert state() == before


def test_formula_looking_text_is_exported_as_text(admin_client, employers, administrator):
    uni, _ = employers
    post(admin_client, xlsx([row(1, uni, name="=1+2", title="+86", avoid_people="@SUM(A1)、-x")]))
    content = admin_client.get("/experts/export/").content
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    sheet = load_workbook(io.BytesIO(content))[excel.SHEET]
    cells = {sheet.cell(1, i).value: sheet.cell(2, i) for i in range(1, len(excel.HEADERS) + 1)}
    for header, text in (("姓名", "=1+2"), ("职称", "+86"), ("回避人员", "@SUM(A1)、-x")):
        assert cells[header].value == text and cells[header].data_type == "s" and cells[header].quotePrefix


def test_export_masks_id_numbers_for_supervisors_and_is_audited(client_for, administrator, supervisor, employers):
    uni, _ = employers
    excel.import_pool(upload(xlsx([row(1, uni, avoid_people=f"王五:{pid(502)}")])), actor=administrator)
    full = load_workbook(io.BytesIO(client_for(administrator).get("/experts/export/").content))[excel.SHEET]
    masked = load_workbook(io.BytesIO(client_for(supervisor).get("/experts/export/").content))[excel.SHEET]
    assert full["C2"].value == pid(1) and full["M2"].value == f"王五:{pid(502)}"
    assert masked["C2"].value == pid(1)[:6] + "*" * 10 + pid(1)[-2:]
    assert pid(502) not in masked["M2"].value
    exports = AuditEntry.objects.filter(action="expert.export").order_by("seq")
    assert [(e.actor, e.after["masked_id_numbers"]) for e in exports] == [(administrator, False), (supervisor, True)]


# --- pages -----------------------------------------------------------------------------------
def test_pool_list_filters(client_for, supervisor, administrator, employers):
    uni, institute = employers
    rows = [
        row(1, uni, fields="新型储能"),
        row(2, institute, fields="稀土新材料、煤炭清洁高效利用", expert_type="财务"),
        row(3, uni, fields="现代煤化工", active="否"),
    ]
    excel.import_pool(upload(xlsx(rows)), actor=administrator)
    client = client_for(supervisor)

    def names(query):
        html = client.get(f"/experts/?{query}").content.decode()
        return {n for n in (1, 2, 3) if f"专家{n:03d}" in html}

    assert names("") == {1, 2, 3}
    assert names("field=energy_storage") == {1}
    assert names("field=clean_coal") == {2}  # not matched by coal_chemical
    assert names("expert_type=finance") == {2}
    assert names("active=no") == {3} and names("active=yes") == {1, 2}
    assert names("employer=稀土") == {2} and names(f"employer={uni.credit_code}") == {1, 3}
    assert names("q=expert3") == {3}


def test_detail_masks_the_id_number_except_for_administrators(client_for, administrator, supervisor, employers):
    uni, _ = employers
    excel.import_pool(upload(xlsx([row(1, uni, avoid_people=f"王五:{pid(502)}")])), actor=administrator)
    expert = Expert.objects.get()
    html = client_for(administrator).get(f"/experts/{expert.pk}/").content.decode()
    assert pid(1) in html and pid(502) in html and uni.name in html
    html = client_for(supervisor).get(f"/experts/{expert.pk}/").content.decode()
    assert pid(1) not in html and expert.masked_id in html and pid(502) not in html
    assert client_for(supervisor).get("/experts/999999/").status_code == 404


PAGES = {
    "list": ("/experts/", {"administrator", "supervisor"}),
    "detail": ("/experts/{pk}/", {"administrator", "supervisor"}),
    "template": ("/experts/template/", {"administrator"}),
    "export": ("/experts/export/", {"administrator", "supervisor"}),
    "import": ("/experts/import/", {"administrator"}),
}


@pytest.mark.parametrize("page", PAGES)
def test_permissions_for_the_cast(cast, client_for, employers, administrator, page):
    make_pool(1, employers[0], administrator)
    url, allowed = PAGES[page]
    url = url.format(pk=Expert.objects.get().pk)
    for name, user in cast.items():
        status = client_for(user).get(url).status_code
        assert status == (200 if name in allowed else 403), (name, status)
    response = client_for(None).get(url)
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_only_administrators_may_post_an_import(cast, client_for, employers):
    content = xlsx([row(1, employers[0])])
    for name, user in cast.items():
        if name != "administrator":
            assert client_for(user).post("/experts/import/", {"file": upload(content)}).status_code == 403
    assert Expert.objects.count() == 0


def test_nav_link_for_administrators_only(client_for, administrator, supervisor):
    assert 'data-testid="nav-expert-pool"' in client_for(administrator).get("/").content.decode()
    assert 'data-testid="nav-expert-pool"' not in client_for(supervisor).get("/").content.decode()


# --- query budgets ---------------------------------------------------------------------------
@pytest.mark.parametrize("n", [5, 50])
@pytest.mark.parametrize(
    "url, budget",
    [
        ("/experts/?field=energy_storage&active=yes&employer=大学", 5),
        ("/experts/{pk}/", 6),
        ("/experts/template/", 2),
        ("/experts/export/", 11),  # with its audit entry
        ("/experts/import/", 2),
    ],
)
def test_page_query_budget(admin_client, administrator, employers, django_assert_max_num_queries, n, url, budget):
    make_pool(n, employers[0], administrator)
    expert = Expert.objects.order_by("pk").last()
    people = "、".join(f"人员{i}:{pid(600 + i)}" for i in range(n))
    services.replace_avoid_people(expert, [p.split(":") for p in people.split("、")], actor=administrator)
    with django_assert_max_num_queries(budget):
        response = admin_client.get(url.format(pk=expert.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("n", [5, 50])
def test_unchanged_reimport_query_budget(admin_client, administrator, employers, django_assert_max_num_queries, n):
    uni, _ = employers
    content = xlsx([row(i, uni, avoid_units=make_code(999_100 + i)) for i in range(1, n + 1)])
    assert excel.import_pool(upload(content), actor=administrator).created == n
    with django_assert_max_num_queries(9):
        result = post(admin_client, content)
    assert result.unchanged == n


def test_pool_pages_have_no_inline_code(admin_client, administrator, employers):
    make_pool(1, employers[0], administrator)
    for url in ("/experts/", f"/experts/{Expert.objects.get().pk}/", "/experts/import/"):
        html = admin_client.get(url).content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\sstyle=", html) and not re.search(r"\son[a-z]+=", html), url


# --- admin -----------------------------------------------------------------------------------
def test_admin_edits_are_audited_and_history_is_read_only(client_for, administrator, employers):
    make_pool(1, employers[0], administrator)
    expert = Expert.objects.get()
    superuser = UserFactory(is_staff=True, is_superuser=True, is_administrator=True)
    client = client_for(superuser)
    url = f"/admin/experts/expert/{expert.pk}/change/"
    html = client.get(url).content.decode()
    assert employers[0].name in html and 'name="employments-0-organization"' not in html
    employment = expert.employments.get()
    data = {
        "name": expert.name,
        "title": "教授",
        "expert_type": "management",
        "fields": ["seed", "dairy"],
        "phone": expert.phone,
        "email": expert.email,
        "active": "on",
        "yearly_cap": "8",
        "employments-TOTAL_FORMS": "1",
        "employments-INITIAL_FORMS": "1",
        "employments-0-id": str(employment.pk),
        "employments-0-expert": str(expert.pk),
        "avoid_units-TOTAL_FORMS": "0",
        "avoid_units-INITIAL_FORMS": "0",
        "avoid_people-TOTAL_FORMS": "0",
        "avoid_people-INITIAL_FORMS": "0",
    }
    response = client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:2000]
    expert.refresh_from_db()
    assert (expert.title, expert.expert_type, expert.fields, expert.yearly_cap) == (
        "教授",
        "management",
        ["seed", "dairy"],
        8,
    )
    entry = AuditEntry.objects.filter(action="expert.update", actor=superuser).get()
    assert entry.before["title"] == "研究员" and entry.after["title"] == "教授"
    assert expert.employments.count() == 1  # the inline could not touch the history
    assert client.get("/admin/experts/expert/add/").status_code == 403
