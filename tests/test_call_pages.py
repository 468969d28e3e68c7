"""Call pages as each member of the cast sees them."""

from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.regions import Region
from calls import services
from calls.choices import CallStatus, SupportMode, TechField
from calls.models import Call
from tests.factories import OrganizationFactory
from tests.factories_calls import CallFactory, ProgrammeFactory, in_days, make_ready_call

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def published(issuer_org, admin, user, **fields):
    call = make_ready_call(issuer_org, user, **fields)
    services.submit_call(actor=user, call=call)
    return services.approve_call(actor=admin, call=call)


# --- public list -------------------------------------------------------------------
@pytest.mark.django_db
def test_public_list_shows_public_calls_only(client, issuer_org, issuer, administrator):
    open_call = published(issuer_org, administrator, issuer, title="公开榜单")
    make_ready_call(issuer_org, issuer, title="草稿榜单")
    pending = make_ready_call(issuer_org, issuer, title="待审榜单")
    services.submit_call(actor=issuer, call=pending)
    html = client.get("/calls/").content.decode()
    assert open_call.code in html and "草稿榜单" not in html and "待审榜单" not in html


@pytest.mark.django_db
def test_each_filter_and_combinations(client, issuer, administrator):
    hohhot = issuer.organization  # region 呼和浩特市
    p1, p2 = ProgrammeFactory(name="种业突围工程"), ProgrammeFactory(name="稀土新材料突围工程")
    a = published(
        hohhot,
        administrator,
        issuer,
        programme=p1,
        field=TechField.SEED,
        keywords="玉米,育种",
        fiscal_cap=Decimal("300"),
        support_mode=SupportMode.HORSE_RACE,
        max_winners=2,
        deadline=in_days(10),
    )
    b = published(
        hohhot,
        administrator,
        issuer,
        programme=p2,
        field=TechField.RARE_EARTH,
        keywords="永磁",
        title="高性能稀土永磁材料",
        fiscal_cap=Decimal("900"),
        deadline=in_days(40),
    )
    c = CallFactory(
        status=CallStatus.AWARDED,
        field=TechField.SEED,
        fiscal_cap=Decimal("600"),
        issuer=OrganizationFactory(region=Region.BAOTOU),
        deadline=in_days(-30),
    )

    def codes(query):
        html = client.get(f"/calls/?{query}").content.decode()
        return {code for code in (a.code, b.code, c.code) if f'data-testid="call-{code}"' in html}

    assert codes("") == {a.code, b.code, c.code}
    assert codes(f"programme={p1.pk}") == {a.code}
    assert codes("field=seed") == {a.code, c.code}
    assert codes("status=published") == {a.code, b.code}
    assert codes("status=awarded") == {c.code}
    assert codes("region=baotou") == {c.code}
    assert codes("support_mode=horse_race") == {a.code}
    assert codes("cap_min=500") == {b.code, c.code}
    assert codes("cap_max=500") == {a.code}
    assert codes("cap_min=500&cap_max=700") == {c.code}
    deadline_day = b.deadline.astimezone().date().isoformat()
    assert codes(f"deadline_from={deadline_day}") == {b.code}
    assert codes(f"deadline_to={deadline_day}") == {a.code, b.code, c.code}
    assert codes("q=永磁") == {b.code}
    assert codes(f"q={a.code}") == {a.code}
    assert codes("q=玉米") == {a.code}
    assert codes("field=seed&status=published") == {a.code}
    assert codes("field=seed&region=hohhot&support_mode=horse_race&cap_max=400") == {a.code}
    # A bad value is reported, not a crash.
    assert client.get("/calls/?cap_min=abc").status_code == 200


@pytest.mark.django_db
def test_sorting_and_status_counts(client, issuer, administrator):
    org = issuer.organization
    early = published(org, administrator, issuer, fiscal_cap=Decimal("800"), deadline=in_days(5))
    late = published(org, administrator, issuer, fiscal_cap=Decimal("200"), deadline=in_days(50))
    CallFactory(status=CallStatus.CLOSED, deadline=in_days(-1))
    html = client.get("/calls/?sort=-fiscal_cap").content.decode()
    assert html.index(early.code) < html.index(late.code)
    html = client.get("/calls/?sort=fiscal_cap").content.decode()
    assert html.index(late.code) < html.index(early.code)
    html = client.get("/calls/?sort=-deadline").content.decode()
    assert html.index(late.code) < html.index(early.code)
    counts = client.get("/calls/?status=published").content.decode()
    # Counts per status ignore the status filter itself, so every tab shows its number.
    assert 'data-status="published"' in counts and 'data-status="closed"' in counts


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_public_list_query_budget(client, django_assert_max_num_queries, n):
    programme = ProgrammeFactory()
    for _ in range(n):
        CallFactory(status=CallStatus.PUBLISHED, programme=programme, deadline=in_days(10))
    # Overdue check, programme options, per-status counts (also the total), one page of rows.
    with django_assert_max_num_queries(4):
        response = client.get("/calls/?field=energy_storage&sort=-fiscal_cap")
    assert response.status_code == 200


# --- detail -------------------------------------------------------------------------
@pytest.mark.django_db
def test_detail_visibility_for_the_cast(cast, client_for, issuer_org, issuer, administrator):
    draft = make_ready_call(issuer_org, issuer)
    public = published(issuer_org, administrator, issuer)
    allowed_draft = {"administrator", "supervisor", "issuer"}
    for name, user in cast.items():
        assert client_for(user).get(f"/calls/{public.code}/").status_code == 200, name
        expected = 200 if name in allowed_draft else 404
        assert client_for(user).get(f"/calls/{draft.code}/").status_code == expected, name
    assert client_for(None).get(f"/calls/{draft.code}/").status_code == 404
    assert client_for(None).get(f"/calls/{public.code}/").status_code == 200


@pytest.mark.django_db
def test_detail_shows_targets_rubric_money_and_deadline(client, issuer_org, issuer, administrator):
    call = published(issuer_org, administrator, issuer, fiscal_cap=Decimal("500"), bureau_deadline=None)
    html = client.get(f"/calls/{call.code}/").content.decode()
    assert "能量密度" in html and "300 Wh/kg" in html
    assert "技术路线的先进性与可行性" in html
    assert "500.00" in html and "1000.00" in html
    assert 'class="countdown"' in html and call.deadline.astimezone().strftime("%Y-%m-%d %H:%M") in html


@pytest.mark.django_db
def test_issuer_of_another_organisation_never_edits(client_for, issuer_org, issuer, outsider_org):
    from tests.factories import UserFactory

    other_issuer = UserFactory(organization=outsider_org, is_issuer=True)
    call = make_ready_call(issuer_org, issuer)
    c = client_for(other_issuer)
    assert c.get(f"/calls/{call.code}/edit/").status_code == 404
    assert c.post(f"/calls/{call.code}/action/submit/").status_code == 404
    call.refresh_from_db()
    assert call.status == CallStatus.DRAFT


@pytest.mark.django_db
def test_lazy_closing_on_read(client, issuer_org, issuer, administrator):
    call = published(issuer_org, administrator, issuer)
    Call.objects.filter(pk=call.pk).update(deadline=in_days(-0.01))
    assert client.get(f"/calls/{call.code}/").status_code == 200
    call.refresh_from_db()
    assert call.status == CallStatus.CLOSED


@pytest.mark.django_db
def test_list_closes_overdue_calls(client, issuer_org, issuer, administrator):
    call = published(issuer_org, administrator, issuer)
    Call.objects.filter(pk=call.pk).update(deadline=in_days(-0.01))
    client.get("/calls/")
    call.refresh_from_db()
    assert call.status == CallStatus.CLOSED


# --- issuer workspace ---------------------------------------------------------------
@pytest.mark.django_db
def test_issuer_creates_edits_and_submits_through_pages(client_for, issuer):
    programme = ProgrammeFactory()
    c = client_for(issuer)
    data = {
        "code": "JB-2026-777",
        "title": "智能化奶牛养殖关键技术",
        "programme": programme.pk,
        "field": "dairy",
        "keywords": "奶牛",
        "background": "背景",
        "research_tasks": "任务",
        "period_months": "24",
        "fiscal_cap": "400",
        "issuer_contribution": "800",
        "support_mode": "single",
        "max_winners": "1",
        "deadline": in_days(20).astimezone().strftime("%Y-%m-%dT%H:%M"),
        "comment_required": "on",
        "targets-TOTAL_FORMS": "1",
        "targets-INITIAL_FORMS": "0",
        "targets-0-name": "单产",
        "targets-0-comparator": ">=",
        "targets-0-value": "12",
        "targets-0-unit": "吨",
        "criteria-TOTAL_FORMS": "0",
        "criteria-INITIAL_FORMS": "0",
    }
    response = c.post("/calls/new/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    call = Call.objects.get(code="JB-2026-777")
    assert call.issuer == issuer.organization and call.criteria.count() == 5

    # A rubric that does not add up to 100 is refused with a clear message.
    bad = {**data, "criteria-TOTAL_FORMS": "1", "criteria-0-name": "唯一指标", "criteria-0-max_points": "90"}
    c.post(f"/calls/{call.code}/edit/", bad)
    response = c.post(f"/calls/{call.code}/action/submit/", follow=True)
    assert "100" in response.content.decode()
    call.refresh_from_db()
    assert call.status == CallStatus.DRAFT

    good = {**data, "criteria-TOTAL_FORMS": "1", "criteria-0-name": "唯一指标", "criteria-0-max_points": "100"}
    assert c.post(f"/calls/{call.code}/edit/", good).status_code == 302
    c.post(f"/calls/{call.code}/action/submit/")
    call.refresh_from_db()
    assert call.status == CallStatus.PENDING
    # Pending: no longer editable by the issuer.
    assert c.get(f"/calls/{call.code}/edit/").status_code == 403


@pytest.mark.django_db
def test_issuer_sees_return_reason(client_for, issuer_org, issuer, administrator):
    call = make_ready_call(issuer_org, issuer)
    services.submit_call(actor=issuer, call=call)
    services.return_call(actor=administrator, call=call, reason="考核指标不够量化")
    assert "考核指标不够量化" in client_for(issuer).get("/calls/mine/").content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/calls/mine/", "/calls/new/"])
def test_workspace_is_for_issuers(cast, client_for, url):
    for name, user in cast.items():
        expected = 200 if name == "issuer" else 403
        assert client_for(user).get(url).status_code == expected, name


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_workspace_query_budget(client_for, issuer, django_assert_max_num_queries, n):
    programme = ProgrammeFactory()
    for i in range(n):
        CallFactory(
            issuer=issuer.organization,
            created_by=issuer,
            programme=programme,
            status=[CallStatus.DRAFT, CallStatus.PENDING, CallStatus.PUBLISHED][i % 3],
        )
    c = client_for(issuer)
    with django_assert_max_num_queries(7):
        assert c.get("/calls/mine/").status_code == 200


# --- administrator --------------------------------------------------------------------
@pytest.mark.django_db
def test_only_administrators_approve(cast, client_for, issuer_org, issuer):
    call = make_ready_call(issuer_org, issuer)
    services.submit_call(actor=issuer, call=call)
    for name, user in cast.items():
        if name == "administrator":
            continue
        client_for(user).post(f"/calls/{call.code}/action/approve/")
        call.refresh_from_db()
        assert call.status == CallStatus.PENDING, name
    for name, user in cast.items():
        expected = 200 if name == "administrator" else 403
        assert client_for(user).get("/calls/review/").status_code == expected, name
    client_for(cast["administrator"]).post(f"/calls/{call.code}/action/approve/")
    call.refresh_from_db()
    assert call.status == CallStatus.PUBLISHED


@pytest.mark.django_db
def test_return_needs_a_reason_through_the_page(client_for, issuer_org, issuer, administrator):
    call = make_ready_call(issuer_org, issuer)
    services.submit_call(actor=issuer, call=call)
    c = client_for(administrator)
    c.post(f"/calls/{call.code}/action/return/", {"reason": " "})
    call.refresh_from_db()
    assert call.status == CallStatus.PENDING
    c.post(f"/calls/{call.code}/action/return/", {"reason": "请补充考核指标"})
    call.refresh_from_db()
    assert call.status == CallStatus.DRAFT and call.return_reason == "请补充考核指标"


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_review_queue_query_budget(client_for, issuer_org, issuer, administrator, django_assert_max_num_queries, n):
    programme = ProgrammeFactory()
    for _ in range(n):
        call = make_ready_call(issuer_org, issuer, programme=programme)
        Call.objects.filter(pk=call.pk).update(status=CallStatus.PENDING)
    c = client_for(administrator)
    with django_assert_max_num_queries(9):
        assert c.get("/calls/review/").status_code == 200


@pytest.mark.django_db
def test_amendment_page_extends_deadline_and_shows_it(client_for, client, issuer_org, issuer, administrator):
    call = published(issuer_org, administrator, issuer)
    new_deadline = in_days(45).astimezone()
    assert client_for(issuer).get(f"/calls/{call.code}/amend/").status_code == 403
    response = client_for(administrator).post(
        f"/calls/{call.code}/amend/",
        {
            "kind": "deadline",
            "text": "因春节假期，申报截止时间延长。",
            "new_deadline": new_deadline.strftime("%Y-%m-%dT%H:%M"),
        },
    )
    assert response.status_code == 302
    call.refresh_from_db()
    assert call.deadline.astimezone().strftime("%Y-%m-%d %H:%M") == new_deadline.strftime("%Y-%m-%d %H:%M")
    html = client.get(f"/calls/{call.code}/").content.decode()
    assert "因春节假期" in html and 'data-testid="amendments"' in html


# --- documents ------------------------------------------------------------------------
@pytest.mark.django_db
def test_documents_follow_call_visibility(cast, client_for, issuer_org, issuer, administrator, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    call = make_ready_call(issuer_org, issuer)
    c = client_for(issuer)
    c.post(f"/calls/{call.code}/documents/", {"title": "榜单说明", "file": SimpleUploadedFile("a.pdf", PDF)})
    c.post(f"/calls/{call.code}/documents/", {"title": "伪装", "file": SimpleUploadedFile("b.pdf", b"\x89PNG\r\n")})
    assert call.documents.count() == 1
    document = call.documents.get()
    url = f"/calls/{call.code}/documents/{document.pk}/"
    assert client_for(None).get(url).status_code == 404  # draft: not public yet
    assert client_for(cast["outsider_applicant"]).get(url).status_code == 404
    response = client_for(issuer).get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content).startswith(b"%PDF")
    services.submit_call(actor=issuer, call=call)
    services.approve_call(actor=administrator, call=call)
    assert client_for(None).get(url).status_code == 200
    # Once published, documents can no longer be changed by the issuer.
    assert c.post(f"/calls/{call.code}/documents/{document.pk}/delete/").status_code == 403


@pytest.mark.django_db
def test_a_superuser_administrator_still_follows_the_rules(client_for, issuer_org, issuer, administrator):
    """Django grants superusers every permission; our rules must not rely on that."""
    administrator.is_superuser = True
    administrator.save()
    call = published(issuer_org, administrator, issuer)
    with pytest.raises(Exception) as exc:
        services.update_call(actor=administrator, call=call, fields={"fiscal_cap": Decimal("1")})
    assert exc.type.__name__ == "PermissionDenied"
    assert client_for(administrator).get(f"/calls/{call.code}/edit/").status_code == 403
