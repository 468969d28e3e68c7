"""Decisions, public notices, objections and exports over the API, with the pages' rules and audit entries."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client, TestCase
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from calls.choices import CallStatus
from calls.models import Call
from exports.models import ExportJob, ExportStatus
from proposals.choices import ProposalStatus
from reviews import decisions
from reviews.models import Notice, Objection, ObjectionStatus, Recommendation
from tests.factories import UserFactory
from tests.factories_calls import CallFactory
from tests.factories_reviews import review_call, score_totals

DECISIONS, NOTICES, OBJECTIONS, EXPORTS = (
    "/api/v1/decisions/",
    "/api/v1/notices/",
    "/api/v1/objections/",
    "/api/v1/exports/",
)


@pytest.fixture
def scored(administrator):
    """A call under review, every score submitted: ready to rank."""
    review = review_call(administrator, proposals=2, experts=2, fiscal_cap=Decimal("1000"))
    for proposal, total in zip(review.proposals, (70, 85), strict=True):
        score_totals(review, proposal, [total, total])
    return review


def in_notice(review, administrator):
    decisions.rank_call(actor=administrator, call=review.call)
    decisions.confirm_winners(actor=administrator, call=review.call, amounts={review.proposals[1].pk: Decimal("50")})
    return decisions.open_notice(actor=administrator, call=review.call)


# --- decisions ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_decision_cast_per_action(api, cast, administrator, supervisor, scored):
    call = scored.call
    url = f"{DECISIONS}{call.code}/"
    winner = scored.proposals[1]
    actions = [
        ("start-review/", {}),
        ("rank/", {}),
        ("confirm-winners/", {"winners": {str(winner.pk): "50.00"}}),
        ("open-notice/", {}),
        ("finalise/", {}),
        ("fail/", {"reason": "无"}),
    ]
    issuer = UserFactory(organization=call.issuer, is_issuer=True)
    # The supervisor reads, never acts; anybody else who sees the call: 403.
    assert api(supervisor).get(url).status_code == 200
    for user in (issuer, scored.leads[0], cast["outsider_applicant"], scored.experts[0].user):
        assert api(user).get(url).status_code == 403
    for path, body in actions:
        for user in (supervisor, issuer, scored.leads[0], cast["outsider_applicant"]):
            assert api(user).post(f"{url}{path}", body, format="json").status_code == 403, (path, user)
    # A call nobody but its issuer and staff sees: 404 for the others, 403 for the supervisor's actions.
    hidden = CallFactory()
    hidden_url = f"{DECISIONS}{hidden.code}/"
    for path, body in actions:
        assert api(cast["outsider_applicant"]).post(f"{hidden_url}{path}", body, format="json").status_code == 404
        assert api(supervisor).post(f"{hidden_url}{path}", body, format="json").status_code == 403
    assert api(cast["outsider_applicant"]).get(hidden_url).status_code == 404
    assert api(administrator).get(f"{DECISIONS}JB-0000-404/").status_code == 404
    assert api().get(url).status_code in (401, 403)
    # Nothing changed.
    assert Call.objects.get(pk=call.pk).status == CallStatus.UNDER_REVIEW
    assert not Recommendation.objects.exists()


@pytest.mark.django_db
def test_ranked_to_notice_happy_path(api, administrator, supervisor, scored):
    call = scored.call
    url = f"{DECISIONS}{call.code}/"
    loser, winner = scored.proposals
    admin = api(administrator)
    body = admin.get(url).json()
    assert body["status"] == "under_review" and body["scores_submitted"] == body["scores_expected"] == 4
    ranked = admin.post(f"{url}rank/", {"allow_incomplete": False}, format="json")
    assert ranked.status_code == 200, ranked.json()
    assert AuditEntry.objects.filter(action="call.rank").exists()
    # Validation answers 400 by field or non_field_errors.
    bad = admin.post(f"{url}confirm-winners/", {"winners": {"x": "1"}}, format="json")
    assert bad.status_code == 400 and list(bad.json()) == ["winners"]
    too_much = admin.post(f"{url}confirm-winners/", {"winners": {str(winner.pk): "999"}}, format="json")
    assert too_much.status_code == 400 and too_much.json()["non_field_errors"]
    early = admin.post(f"{url}open-notice/", {}, format="json")
    assert early.status_code == 400 and early.json()["non_field_errors"]
    confirmed = admin.post(f"{url}confirm-winners/", {"winners": {str(winner.pk): "50.00"}}, format="json")
    assert confirmed.status_code == 200, confirmed.json()
    assert [r["proposal"] for r in confirmed.json()["recommendations"]] == [winner.pk]
    assert confirmed.json()["recommendations"][0]["fiscal_amount"] == "50.00"
    past = admin.post(f"{url}open-notice/", {"starts_on": "2000-01-01"}, format="json")
    assert past.status_code == 400
    opened = admin.post(f"{url}open-notice/", {}, format="json")
    assert opened.status_code == 200, opened.json()
    assert opened.json()["status"] == "in_notice"
    assert opened.json()["notice"]["starts_on"] == timezone.localdate().isoformat()
    assert AuditEntry.objects.filter(action="notice.open").exists()
    assert api(supervisor).get(url).json()["status"] == "in_notice"
    # The public notice: winners only, no scores.
    public = api().get(f"{NOTICES}{call.code}/")
    assert public.status_code == 200
    notice = public.json()
    assert [a["proposal"] for a in notice["awards"]] == [winner.pk] and notice["accepting_objections"] is True
    assert not {"final", "rank", "statistics"} & set(notice["awards"][0])
    assert api().get(NOTICES).json()["count"] == 1
    too_early = admin.post(f"{url}finalise/")
    assert too_early.status_code == 400 and too_early.json()["non_field_errors"]
    # After the period: finalise.
    Notice.objects.filter(call=call).update(
        starts_on=timezone.localdate() - timedelta(days=10), ends_on=timezone.localdate() - timedelta(days=3)
    )
    final = admin.post(f"{url}finalise/")
    assert final.status_code == 200 and final.json()["outcome"] == "awarded"
    winner.refresh_from_db()
    loser.refresh_from_db()
    assert winner.status == ProposalStatus.AWARDED and loser.status == ProposalStatus.NOT_AWARDED


@pytest.mark.django_db
def test_start_review_and_fail(api, administrator):
    review = review_call(administrator, proposals=1, experts=0)
    url = f"{DECISIONS}{review.call.code}/"
    again = api(administrator).post(f"{url}start-review/")
    assert again.status_code == 400 and again.json()["non_field_errors"]
    incomplete = review_call(administrator, proposals=1, experts=1)
    iurl = f"{DECISIONS}{incomplete.call.code}/"
    missing = api(administrator).post(f"{iurl}rank/", {}, format="json")
    assert missing.status_code == 400 and missing.json()["non_field_errors"]
    assert api(administrator).post(f"{iurl}rank/", {"allow_incomplete": True}, format="json").status_code == 200
    no_reason = api(administrator).post(f"{url}fail/", {}, format="json")
    assert no_reason.status_code == 400 and list(no_reason.json()) == ["reason"]
    failed = api(administrator).post(f"{url}fail/", {"reason": "无合格方案"}, format="json")
    assert failed.status_code == 200 and failed.json()["status"] == CallStatus.FAILED


# --- objections -----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_objections_cast_and_handling(api, cast, administrator, supervisor, scored):
    in_notice(scored, administrator)
    call = scored.call
    winner = scored.proposals[1]
    objector = cast["outsider_applicant"]
    body = {"call": call.code, "text": "业绩不实。", "real_name": "王某", "proposal": winner.pk}
    assert api().post(OBJECTIONS, body, format="json").status_code in (401, 403)
    anonymous = api(objector).post(OBJECTIONS, {**body, "real_name": ""}, format="json")
    assert anonymous.status_code == 400 and anonymous.json()["non_field_errors"]
    not_listed = api(objector).post(OBJECTIONS, {**body, "proposal": scored.proposals[0].pk}, format="json")
    assert not_listed.status_code == 400 and list(not_listed.json()) == ["proposal"]
    no_notice = api(objector).post(OBJECTIONS, {**body, "call": CallFactory().code}, format="json")
    assert no_notice.status_code == 400 and list(no_notice.json()) == ["call"]
    created = api(objector).post(OBJECTIONS, body, format="json")
    assert created.status_code == 201, created.json()
    objection = created.json()
    assert objection["status"] == "open" and objection["proposal"] == winner.pk
    assert AuditEntry.objects.filter(action="objection.submit").exists()
    url = f"{OBJECTIONS}{objection['id']}/"
    for user in (administrator, supervisor):
        assert api(user).get(url).status_code == 200
        assert api(user).get(f"{OBJECTIONS}?call={call.code}&status=open").json()["count"] == 1
    for user in (objector, cast["issuer"], scored.leads[1]):
        assert api(user).get(OBJECTIONS).status_code == 403
        assert api(user).get(url).status_code == 403
    handle = {"upheld": False, "result": "经核查，不属实。"}
    for user in (supervisor, objector):
        assert api(user).post(f"{url}handle/", handle, format="json").status_code == 403
    no_result = api(administrator).post(f"{url}handle/", {"upheld": False, "result": ""}, format="json")
    assert no_result.status_code == 400 and list(no_result.json()) == ["result"]
    handled = api(administrator).post(f"{url}handle/", handle, format="json")
    assert handled.status_code == 200 and handled.json()["status"] == "dismissed"
    assert Objection.objects.get().status == ObjectionStatus.DISMISSED
    twice = api(administrator).post(f"{url}handle/", handle, format="json")
    assert twice.status_code == 400
    assert api(administrator).get(f"{OBJECTIONS}999999/").status_code == 404


@pytest.mark.django_db
def test_notices_are_public_but_only_once_published(api, administrator, scored):
    assert api().get(NOTICES).json()["count"] == 0
    assert api().get(f"{NOTICES}{scored.call.code}/").status_code == 404
    in_notice(scored, administrator)
    assert api(UserFactory()).get(f"{NOTICES}{scored.call.code}/").status_code == 200


# --- exports --------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_exports_request_progress_and_download(api, cast, administrator, supervisor, scored):
    in_notice(scored, administrator)
    call = scored.call
    with TestCase.captureOnCommitCallbacks(execute=True):
        response = api(administrator).post(EXPORTS, {"kind": "award_list", "call": call.pk}, format="json")
    assert response.status_code == 202, response.json()
    job = response.json()
    assert job["kind"] == "award_list" and job["params"] == {"call": call.code}
    detail = api(administrator).get(f"{EXPORTS}{job['id']}/").json()
    assert detail["status"] == ExportStatus.DONE and detail["progress"] == 100
    assert detail["download_url"].endswith(f"/{job['id']}/download/")
    browser = Client()
    browser.force_login(administrator)  # the download page is the web one (session login)
    download = browser.get(detail["download_url"])
    assert download.status_code == 200 and b"".join(download.streaming_content)[:2] == b"PK"
    # The issuer of the call may export its award list once the notice has begun; others may not.
    issuer = UserFactory(organization=call.issuer, is_issuer=True)
    with TestCase.captureOnCommitCallbacks(execute=True):
        own = api(issuer).post(EXPORTS, {"kind": "award_list", "call": call.code}, format="json")
    assert own.status_code == 202
    for user in (scored.leads[0], cast["outsider_applicant"]):
        assert api(user).post(EXPORTS, {"kind": "award_list", "call": call.code}, format="json").status_code == 403
    # Jobs: one's own; administrators all; anybody else's is 404.
    assert api(issuer).get(EXPORTS).json()["count"] == 1
    assert api(administrator).get(EXPORTS).json()["count"] == 2
    assert api(issuer).get(f"{EXPORTS}{job['id']}/").status_code == 404
    assert api(supervisor).get(f"{EXPORTS}{job['id']}/").status_code == 404
    # Validation.
    unknown = api(administrator).post(EXPORTS, {"kind": "nope", "call": call.code}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()) == ["kind"]
    no_call = api(administrator).post(EXPORTS, {"kind": "award_list", "call": "JB-0000-404"}, format="json")
    assert no_call.status_code == 400 and list(no_call.json()) == ["call"]
    no_id = api(administrator).post(EXPORTS, {"kind": "award_list", "call": 999999}, format="json")
    assert no_id.status_code == 400 and list(no_id.json()) == ["call"]
    nothing = api(administrator).post(EXPORTS, {"kind": "award_list"}, format="json")
    assert nothing.status_code == 400 and nothing.json()["non_field_errors"]
    year = call.programme.year
    with TestCase.captureOnCommitCallbacks(execute=True):
        by_year = api(administrator).post(
            EXPORTS, {"kind": "award_list", "programme": call.programme_id, "year": year}, format="json"
        )
    assert by_year.status_code == 202 and by_year.json()["params"] == {"year": year, "programme": call.programme_id}
    assert ExportJob.objects.count() == 3


# --- query budgets --------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_decision_list_query_budgets(api, django_assert_max_num_queries, administrator, n):
    review = review_call(administrator, proposals=1, experts=0)
    call = review.call
    today = timezone.localdate()
    for index in range(n):
        extra = review_call(administrator, proposals=1, experts=0, programme=review.programme)
        Call.objects.filter(pk=extra.call.pk).update(status=CallStatus.IN_NOTICE)
        Recommendation.objects.create(
            call=extra.call, proposal=extra.proposals[0], fiscal_amount=Decimal("1"), confirmed_by=administrator
        )
        notice = Notice.objects.create(
            call=extra.call, starts_on=today, ends_on=today + timedelta(days=5), published_by=administrator
        )
        Objection.objects.create(notice=notice, submitted_by=administrator, real_name="王某", text=f"异议{index}")
        ExportJob.objects.create(kind="award_list", params={"call": call.code}, requested_by=administrator)
    cases = [(None, NOTICES, 5), (administrator, OBJECTIONS, 3), (administrator, EXPORTS, 3)]
    for user, path, budget in cases:
        with django_assert_max_num_queries(budget):
            response = api(user).get(f"{path}?page_size=100")
        assert response.status_code == 200, path
        assert response.json()["count"] == n, path


# --- withdrawing a recommendation -----------------------------------------------------------------------
@pytest.mark.django_db
def test_withdraw_recommendation_cast(api, cast, administrator, supervisor, scored):
    in_notice(scored, administrator)
    call = scored.call
    winner = scored.proposals[1]
    url = f"{DECISIONS}{call.code}/withdraw-recommendation/"
    body = {"proposal": winner.pk, "reason": "异议成立：业绩不实。"}
    issuer = UserFactory(organization=call.issuer, is_issuer=True)
    for user in (supervisor, issuer, scored.leads[1], cast["outsider_applicant"], scored.experts[0].user):
        assert api(user).post(url, body, format="json").status_code == 403, user
    assert api().post(url, body, format="json").status_code in (401, 403)
    hidden = CallFactory()
    hidden_url = f"{DECISIONS}{hidden.code}/withdraw-recommendation/"
    assert api(cast["outsider_applicant"]).post(hidden_url, body, format="json").status_code == 404
    assert Recommendation.objects.filter(proposal=winner).exists()
    assert not AuditEntry.objects.filter(action="call.withdraw_recommendation").exists()


@pytest.mark.django_db
def test_administrator_withdraws_a_recommendation(api, administrator, scored):
    in_notice(scored, administrator)
    call = scored.call
    loser, winner = scored.proposals
    url = f"{DECISIONS}{call.code}/withdraw-recommendation/"
    admin = api(administrator)
    no_reason = admin.post(url, {"proposal": winner.pk, "reason": " "}, format="json")
    assert no_reason.status_code == 400 and list(no_reason.json()) == ["reason"]
    missing = admin.post(url, {}, format="json")
    assert missing.status_code == 400 and list(missing.json()) == ["proposal"]
    not_recommended = admin.post(url, {"proposal": loser.pk, "reason": "无"}, format="json")
    assert not_recommended.status_code == 400 and list(not_recommended.json()) == ["proposal"]
    other_call = review_call(administrator, proposals=1, experts=0)
    elsewhere = admin.post(url, {"proposal": other_call.proposals[0].pk, "reason": "无"}, format="json")
    assert elsewhere.status_code == 400 and list(elsewhere.json()) == ["proposal"]
    withdrawn = admin.post(url, {"proposal": winner.pk, "reason": "异议成立：业绩不实。"}, format="json")
    assert withdrawn.status_code == 200, withdrawn.json()
    assert withdrawn.json()["recommendations"] == [] and withdrawn.json()["status"] == "in_notice"
    winner.refresh_from_db()
    assert winner.status == ProposalStatus.RANKED and not Recommendation.objects.filter(proposal=winner).exists()
    entry = AuditEntry.objects.get(action="call.withdraw_recommendation")
    assert entry.actor == administrator and entry.reason == "异议成立：业绩不实。"
    assert entry.after == {"proposal": winner.pk}
    again = admin.post(url, {"proposal": winner.pk, "reason": "再次"}, format="json")
    assert again.status_code == 400 and list(again.json()) == ["proposal"]
    # With no winner left, finalising after the period fails the call (流榜).
    Notice.objects.filter(call=call).update(
        starts_on=timezone.localdate() - timedelta(days=10), ends_on=timezone.localdate() - timedelta(days=3)
    )
    assert admin.post(f"{DECISIONS}{call.code}/finalise/").json()["outcome"] == "failed"


@pytest.mark.django_db
def test_withdrawing_an_awarded_proposal_is_refused(api, administrator, scored):
    in_notice(scored, administrator)
    winner = scored.proposals[1]
    Notice.objects.filter(call=scored.call).update(
        starts_on=timezone.localdate() - timedelta(days=10), ends_on=timezone.localdate() - timedelta(days=3)
    )
    decisions.finalise(actor=administrator, call=scored.call)
    url = f"{DECISIONS}{scored.call.code}/withdraw-recommendation/"
    late = api(administrator).post(url, {"proposal": winner.pk, "reason": "晚了"}, format="json")
    assert late.status_code == 400 and late.json()["non_field_errors"]
    winner.refresh_from_db()
    assert winner.status == ProposalStatus.AWARDED


# --- downloading an export with a token -----------------------------------------------------------------
def token_client(user=None):
    from rest_framework.authtoken.models import Token

    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.mark.django_db
def test_export_download_with_a_token(cast, administrator, supervisor, scored):
    in_notice(scored, administrator)
    call = scored.call
    issuer = UserFactory(organization=call.issuer, is_issuer=True)
    with TestCase.captureOnCommitCallbacks(execute=True):
        requested = token_client(issuer).post(EXPORTS, {"kind": "award_list", "call": call.code}, format="json")
    assert requested.status_code == 202, requested.json()
    job_id = requested.json()["id"]
    url = token_client(issuer).get(f"{EXPORTS}{job_id}/").json()["download_url"]
    assert url.endswith(f"/api/v1/exports/{job_id}/download/")
    for user in (issuer, administrator):  # the requester and administrators
        response = token_client(user).get(url, HTTP_ACCEPT="*/*")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        assert "attachment" in response["Content-Disposition"]
        assert b"".join(response.streaming_content)[:2] == b"PK"
    # Asking for the spreadsheet's type explicitly works too.
    xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert token_client(issuer).get(url, HTTP_ACCEPT=xlsx).status_code == 200
    for user in (supervisor, cast["outsider_applicant"], scored.leads[1], UserFactory(organization=call.issuer)):
        refused = token_client(user).get(url)
        assert refused.status_code == 404 and refused["Content-Type"] == "application/json"
    assert token_client().get(url).status_code in (401, 403)
    bad_token = APIClient()
    bad_token.credentials(HTTP_AUTHORIZATION="Token not-a-token")
    assert bad_token.get(url).status_code in (401, 403)
    # The session still works (the web page's way in).
    browser = Client()
    browser.force_login(issuer)
    assert browser.get(url).status_code == 200


@pytest.mark.django_db
def test_export_download_waits_until_done(administrator):
    job = ExportJob.objects.create(kind="award_list", params={"call": "JB-0000-001"}, requested_by=administrator)
    url = f"{EXPORTS}{job.pk}/download/"
    assert token_client(administrator).get(url).status_code == 404
    assert token_client(administrator).get(f"{EXPORTS}{job.pk}/").json()["download_url"] is None
    ExportJob.objects.filter(pk=job.pk).update(status=ExportStatus.DONE)  # done, but no file
    assert token_client(administrator).get(url).status_code == 404
    assert token_client(administrator).get(f"{EXPORTS}999999/download/").status_code == 404
