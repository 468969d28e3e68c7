"""The review API: draws, assignments, scores and rankings, with the pages' rules and audit entries."""

import pytest

from audit.models import AuditEntry
from calls.choices import CallStatus
from calls.models import Call
from experts.choices import ConflictReason, ConflictStatus
from experts.models import Conflict
from reviews import decisions
from reviews.models import Assignment, Draw, DrawStatus, Result, Score, ScoreStatus
from tests.factories import UserFactory
from tests.factories_calls import CallFactory
from tests.factories_draw_pages import closed_call, drawn, pool
from tests.factories_reviews import give_score, make_expert, review_call, score_totals, split

DRAWS, ASSIGNMENTS, SCORES, RANKINGS = "/api/v1/draws/", "/api/v1/assignments/", "/api/v1/scores/", "/api/v1/rankings/"


@pytest.fixture
def review(administrator):
    return review_call(administrator, proposals=2, experts=2)


def points(review, values):
    return {str(c.pk): str(v) for c, v in zip(review.criteria, values, strict=True)}


# --- draws ------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_draw_lifecycle_and_cast(api, cast, administrator, supervisor):
    call = closed_call()
    pool(4)
    body = {"call": call.code, "panel_size": 2, "backups": 1}
    for name in ("supervisor", "issuer", "lead_applicant", "assigned_expert"):
        assert api(cast[name]).post(DRAWS, body, format="json").status_code == 403, name
    response = api(administrator).post(DRAWS, body, format="json")
    assert response.status_code == 201, response.json()
    draw = response.json()
    assert draw["status"] == "committed" and draw["seed"] == "" and len(draw["commitment"]) == 64
    url = f"{DRAWS}{draw['id']}/"
    assert api(administrator).get(f"{url}verify/").json() == {"ok": False, "problems": [str(_not_made())]}
    for name in ("supervisor", "lead_applicant"):
        assert api(cast[name]).post(f"{url}perform/").status_code == 403, name
    performed = api(administrator).post(f"{url}perform/")
    assert performed.status_code == 200
    made = performed.json()
    assert made["status"] == "drawn" and len(made["seed"]) == 64 and len(made["invitations"]) == 3
    assert [i["status"] for i in made["invitations"]] == ["pending", "pending", "waiting"]
    assert set(AuditEntry.objects.filter(object_type="reviews.draw").values_list("action", flat=True)) == {
        "draw.commit",
        "draw.perform",
    }
    for user in (administrator, supervisor):
        assert api(user).get(f"{url}verify/").json() == {"ok": True, "problems": []}
        assert api(user).get(url).status_code == 200
        assert api(user).get(f"{DRAWS}?call={call.code}").json()["count"] == 1
    for name in ("issuer", "lead_applicant", "assigned_expert"):
        for path in (DRAWS, url, f"{url}verify/"):
            assert api(cast[name]).get(path).status_code == 403, (name, path)
    again = api(administrator).post(f"{url}perform/")
    assert again.status_code == 400 and again.json()["non_field_errors"]
    assert api(administrator).get(f"{DRAWS}999999/").status_code == 404


def _not_made():
    from django.utils.translation import gettext

    return gettext("The draw has not been made yet.")


@pytest.mark.django_db
def test_verify_finds_tampering(api, administrator):
    call = closed_call()
    pool(3)
    draw = drawn(call, administrator, panel_size=2)
    Draw.objects.filter(pk=draw.pk).update(ranking=list(reversed(draw.ranking)))
    result = api(administrator).get(f"{DRAWS}{draw.pk}/verify/").json()
    assert result["ok"] is False and result["problems"]


@pytest.mark.django_db
def test_draw_validation(api, administrator):
    call = closed_call()
    missing = api(administrator).post(DRAWS, {}, format="json")
    assert missing.status_code == 400 and {"call", "panel_size"} <= set(missing.json())
    zero = api(administrator).post(DRAWS, {"call": call.code, "panel_size": 0}, format="json")
    assert zero.status_code == 400 and list(zero.json()) == ["panel_size"]
    unknown = api(administrator).post(DRAWS, {"call": "JB-0000-404", "panel_size": 2}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()) == ["call"]
    bad_field = api(administrator).post(DRAWS, {"call": call.code, "panel_size": 2, "fields": ["x"]}, format="json")
    assert bad_field.status_code == 400 and list(bad_field.json()) == ["fields"]
    still_open = CallFactory(status=CallStatus.PUBLISHED)
    refused = api(administrator).post(DRAWS, {"call": still_open.code, "panel_size": 2}, format="json")
    assert refused.status_code == 400 and refused.json()["non_field_errors"]
    short = api(administrator).post(DRAWS, {"call": call.code, "panel_size": 5}, format="json")
    assert short.status_code == 201
    not_enough = api(administrator).post(f"{DRAWS}{short.json()['id']}/perform/")
    assert not_enough.status_code == 400 and not_enough.json()["non_field_errors"]


# --- assignments ------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_assignments_cast(api, cast, administrator, supervisor, review):
    first, second = review.experts
    mine = api(first.user).get(ASSIGNMENTS).json()
    assert {a["proposal"] for a in mine["results"]} == {p.pk for p in review.proposals}
    assert all(a["expert"] == first.pk for a in mine["results"])
    for user in (administrator, supervisor):
        assert api(user).get(ASSIGNMENTS).json()["count"] == 4
        assert api(user).get(f"{ASSIGNMENTS}?call={review.call.code}&expert={second.pk}").json()["count"] == 2
    others = review.assignment(review.proposals[0], second)
    assert api(first.user).get(f"{ASSIGNMENTS}{others.pk}/").status_code == 404
    own = review.assignment(review.proposals[0], first)
    assert api(first.user).get(f"{ASSIGNMENTS}{own.pk}/").json()["score"] is None
    for name in ("issuer", "lead_applicant", "outsider_applicant"):
        assert api(cast[name]).get(ASSIGNMENTS).status_code == 403, name
        assert api(cast[name]).get(f"{ASSIGNMENTS}{own.pk}/").status_code == 403, name
    # A user flagged as expert but without an Expert profile has no review pages either.
    assert api(cast["assigned_expert"]).get(ASSIGNMENTS).status_code == 403


@pytest.mark.django_db
def test_blocked_and_ended_assignments_are_hidden_from_the_expert(api, administrator, review):
    expert = review.experts[0]
    blocked = review.assignment(review.proposals[0], expert)
    ended = review.assignment(review.proposals[1], expert)
    Conflict.objects.create(
        expert=expert, proposal=blocked.proposal, reason=ConflictReason.EMPLOYER_UNIT, status=ConflictStatus.CONFIRMED
    )
    Assignment.objects.filter(pk=ended.pk).update(active=False)
    assert api(expert.user).get(ASSIGNMENTS).json()["count"] == 0
    for assignment in (blocked, ended):
        assert api(expert.user).get(f"{ASSIGNMENTS}{assignment.pk}/").status_code == 404
    assert api(administrator).get(f"{ASSIGNMENTS}{blocked.pk}/").status_code == 200


# --- scores ---------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_expert_scores_through_the_api(api, review):
    expert = review.experts[0]
    assignment = review.assignment(review.proposals[0], expert)
    values = split(80, review.criteria)
    body = {"assignment": assignment.pk, "points": dict(list(points(review, values).items())[:2]), "comment": "可行。"}
    created = api(expert.user).post(SCORES, body, format="json")
    assert created.status_code == 201, created.json()
    score = created.json()
    assert score["status"] == "draft" and score["comment"] == "可行。"
    assert [i["points"] for i in score["items"]] == ["40.00", "30.00", None]
    url = f"{SCORES}{score['id']}/"
    last = review.criteria[2]
    patched = api(expert.user).patch(url, {"points": {str(last.pk): "10"}}, format="json")
    assert patched.status_code == 200
    assert [i["points"] for i in patched.json()["items"]] == ["40.00", "30.00", "10.00"]
    assert patched.json()["comment"] == "可行。"  # left out: kept
    again = api(expert.user).post(SCORES, {"assignment": assignment.pk, "comment": "很好"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == score["id"]
    submitted = api(expert.user).post(f"{url}submit/")
    assert submitted.status_code == 200
    assert submitted.json()["status"] == "submitted" and submitted.json()["total"] == "80.00"
    assert AuditEntry.objects.filter(action="score.submit", object_id=str(score["id"])).exists()
    locked = api(expert.user).patch(url, {"comment": "改"}, format="json")
    assert locked.status_code == 400 and locked.json()["non_field_errors"]
    assert [a["score_status"] for a in api(expert.user).get(ASSIGNMENTS).json()["results"]].count("submitted") == 1


@pytest.mark.django_db
def test_score_validation(api, review):
    expert = review.experts[0]
    assignment = review.assignment(review.proposals[0], expert)
    first = review.criteria[0]
    too_many = api(expert.user).post(
        SCORES, {"assignment": assignment.pk, "points": {str(first.pk): "41"}}, format="json"
    )
    assert too_many.status_code == 400 and list(too_many.json()["points"]) == [str(first.pk)]
    unknown = api(expert.user).post(SCORES, {"assignment": assignment.pk, "points": {"999999": "1"}}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()["points"]) == ["999999"]
    not_a_number = api(expert.user).post(
        SCORES, {"assignment": assignment.pk, "points": {str(first.pk): "abc"}}, format="json"
    )
    assert not_a_number.status_code == 400 and str(first.pk) in not_a_number.json()["points"]
    missing = api(expert.user).post(SCORES, {"points": {}}, format="json")
    assert missing.status_code == 400 and list(missing.json()) == ["assignment"]
    someone_elses = review.assignment(review.proposals[0], review.experts[1])
    refused = api(expert.user).post(SCORES, {"assignment": someone_elses.pk}, format="json")
    assert refused.status_code == 400 and list(refused.json()) == ["assignment"]
    draft = api(expert.user).post(SCORES, {"assignment": assignment.pk, "points": {str(first.pk): "20"}}, format="json")
    incomplete = api(expert.user).post(f"{SCORES}{draft.json()['id']}/submit/")
    assert (
        incomplete.status_code == 400 and len(incomplete.json()["non_field_errors"]) == 3
    )  # two criteria, the comment
    assert Score.objects.get(pk=draft.json()["id"]).status == ScoreStatus.DRAFT


@pytest.mark.django_db
def test_score_cast_and_reopen(api, cast, administrator, supervisor, review):
    expert, colleague = review.experts
    assignment = review.assignment(review.proposals[0], expert)
    score = give_score(assignment, split(75, review.criteria))
    url = f"{SCORES}{score.pk}/"
    assert api(expert.user).get(url).status_code == 200
    assert api(colleague.user).get(url).status_code == 404
    for name in ("issuer", "lead_applicant", "assigned_expert"):
        assert api(cast[name]).get(url).status_code == 404, name
    for user in (administrator, supervisor):
        assert api(user).get(url).json()["total"] == "75.00"
        assert api(user).get(f"{SCORES}?call={review.call.code}").json()["count"] == 1
        assert api(user).patch(url, {"comment": "x"}, format="json").status_code == 403
        assert api(user).post(f"{url}submit/").status_code == 403
    assert api(administrator).post(SCORES, {"assignment": assignment.pk}, format="json").status_code == 403
    assert api(colleague.user).get(SCORES).json()["count"] == 0
    assert api(expert.user).get(SCORES).json()["count"] == 1
    assert api(cast["lead_applicant"]).get(SCORES).status_code == 403
    # Reopening: administrators only, with a reason.
    assert api(supervisor).post(f"{url}reopen/", {"reason": "复核"}, format="json").status_code == 403
    assert api(expert.user).post(f"{url}reopen/", {"reason": "复核"}, format="json").status_code == 403
    assert api(colleague.user).post(f"{url}reopen/", {"reason": "复核"}, format="json").status_code == 404
    no_reason = api(administrator).post(f"{url}reopen/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400 and list(no_reason.json()) == ["reason"]
    reopened = api(administrator).post(f"{url}reopen/", {"reason": "分项合计有误"}, format="json")
    assert reopened.status_code == 200 and reopened.json()["status"] == "draft"
    assert AuditEntry.objects.get(action="score.reopen", object_id=str(score.pk)).reason == "分项合计有误"
    assert api(expert.user).patch(url, {"comment": "已复核"}, format="json").status_code == 200
    twice = api(administrator).post(f"{url}reopen/", {"reason": "再次"}, format="json")
    assert twice.status_code == 400 and twice.json()["non_field_errors"]


@pytest.mark.django_db
def test_scoring_closes_with_the_review(api, review):
    expert = review.experts[0]
    assignment = review.assignment(review.proposals[0], expert)
    score = give_score(assignment, split(60, review.criteria), submit=False)
    Call.objects.filter(pk=review.call.pk).update(status=CallStatus.IN_NOTICE)
    refused = api(expert.user).patch(f"{SCORES}{score.pk}/", {"comment": "晚了"}, format="json")
    assert refused.status_code == 400 and refused.json()["non_field_errors"]


# --- rankings -----------------------------------------------------------------------------------------
@pytest.fixture
def ranked(administrator, review):
    for proposal, total in zip(review.proposals, (70, 85), strict=True):
        score_totals(review, proposal, [total, total])
    decisions.rank_call(actor=administrator, call=review.call)
    return review


@pytest.mark.django_db
def test_ranking_cast(api, cast, administrator, supervisor, ranked):
    call = ranked.call
    url = f"{RANKINGS}{call.code}/"
    issuer = UserFactory(organization=call.issuer, is_issuer=True)
    for user in (administrator, supervisor):
        body = api(user).get(url).json()
        assert [r["proposal"] for r in body["results"]] == [ranked.proposals[1].pk, ranked.proposals[0].pk]
        assert [r["rank"] for r in body["results"]] == [1, 2]
        assert body["results"][0]["statistics"]["count"] == 2
        assert api(user).get(RANKINGS).json()["count"] == 1
    # Before the notice begins: the issuer and applicants see the call but not its ranking.
    for user in (issuer, ranked.leads[0], cast["outsider_applicant"], ranked.experts[0].user):
        assert api(user).get(url).status_code == 403
        assert api(user).get(RANKINGS).json()["count"] == 0
    Call.objects.filter(pk=call.pk).update(status=CallStatus.IN_NOTICE)
    body = api(issuer).get(url).json()
    assert body["results"][0]["final"].startswith("85") and body["results"][0]["statistics"] is None
    assert api(issuer).get(RANKINGS).json()["count"] == 1
    assert api(ranked.leads[0]).get(url).status_code == 403
    other_issuer = UserFactory(organization=cast["outsider_applicant"].organization, is_issuer=True)
    assert api(other_issuer).get(url).status_code == 403
    assert api(other_issuer).get(RANKINGS).json()["count"] == 0
    hidden = CallFactory()  # a draft: nobody but its issuer and staff sees it
    assert api(other_issuer).get(f"{RANKINGS}{hidden.code}/").status_code == 404
    assert api(administrator).get(f"{RANKINGS}{hidden.code}/").json()["results"] == []


# --- query budgets --------------------------------------------------------------------------------------
@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_review_list_query_budgets(api, django_assert_max_num_queries, administrator, n):
    review = review_call(administrator, proposals=n, experts=1)
    expert = review.experts[0]
    for proposal in review.proposals:
        give_score(review.assignment(proposal, expert), split(70, review.criteria))
    call = review.call
    for _ in range(n):
        Draw.objects.create(
            call=call,
            fields=[call.field],
            panel_size=1,
            backups=0,
            rule_version="draw-v1",
            commitment="0" * 64,
            seed="1" * 64,
            status=DrawStatus.COMMITTED,
            created_by=administrator,
        )
    decisions.rank_call(actor=administrator, call=call)
    for _other in range(n - 1):  # more ranked calls, one result each
        extra = review_call(administrator, proposals=1, experts=0, programme=review.programme)
        Result.objects.create(proposal=extra.proposals[0], count=0, method="none", rank=None)
    cases = [
        (administrator, DRAWS, 4),
        (administrator, ASSIGNMENTS, 3),
        (expert.user, ASSIGNMENTS, 6),
        (administrator, SCORES, 4),
        (expert.user, SCORES, 7),
        (administrator, RANKINGS, 4),
    ]
    for user, path, budget in cases:
        with django_assert_max_num_queries(budget):
            response = api(user).get(path)
        assert response.status_code == 200, path
        assert response.json()["count"] == n, path


@pytest.mark.django_db
def test_expert_helper_without_assignments(api):
    expert = make_expert()
    assert api(expert.user).get(ASSIGNMENTS).json() == {"count": 0, "next": None, "previous": None, "results": []}
    assert api(expert.user).get(SCORES).json()["count"] == 0
