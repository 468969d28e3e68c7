"""The review dashboard is served from the cache until something it shows changes
(reviews/views/dashboard_cache.py): every change an administrator or an expert can make shows on
the next view, cached views cost a fixed handful of queries, and viewers, languages and pages
never share an entry."""

import re

import pytest

from experts.choices import ConflictReason, ConflictStatus
from experts.models import Conflict
from reviews import scoring
from reviews.models import Score
from tests.factories_reviews import give_score, points_map, review_call, split

pytestmark = pytest.mark.django_db


def url(call, en=False):
    return f"{'/en' if en else ''}/reviews/calls/{call.code}/dashboard/"


def state(html, proposal, expert) -> str:
    return re.search(rf'data-testid="cell-{proposal.pk}-{expert.pk}" data-state="(\w+)"', html).group(1)


@pytest.fixture
def review(cast):
    return review_call(cast["administrator"], proposals=3, experts=3)


@pytest.fixture
def admin_client(cast, client_for):
    return client_for(cast["administrator"])


def test_a_second_view_is_served_from_the_cache(review, admin_client, django_assert_max_num_queries):
    first = admin_client.get(url(review.call)).content.decode()
    # Session, user, the call (the permission check) and the stamp: nothing of the matrix.
    with django_assert_max_num_queries(4):
        again = admin_client.get(url(review.call)).content.decode()
    matrix = lambda html: re.search(r'data-testid="matrix">.*?</table>', html, re.S).group(0)  # noqa: E731
    assert matrix(again) == matrix(first) and 'data-state="not_started"' in matrix(first)


def test_scores_submitted_and_reopened_show_on_the_next_view(cast, review, admin_client):
    proposal, expert = review.proposals[0], review.experts[0]
    assert state(admin_client.get(url(review.call)).content.decode(), proposal, expert) == "not_started"
    score = give_score(review.assignment(proposal, expert), split(80, review.criteria))
    html = admin_client.get(url(review.call)).content.decode()
    assert state(html, proposal, expert) == "submitted" and "80.00" in html
    scoring.reopen(actor=cast["administrator"], score=score, reason="录入有误")
    assert state(admin_client.get(url(review.call)).content.decode(), proposal, expert) == "draft"


def test_a_sheet_opened_for_the_first_time_shows_as_a_draft(review, admin_client):
    """Saving a draft is not audited: the new score row moves the stamp."""
    proposal, expert = review.proposals[1], review.experts[1]
    assert state(admin_client.get(url(review.call)).content.decode(), proposal, expert) == "not_started"
    scoring.save_draft(
        actor=expert.user,
        assignment=review.assignment(proposal, expert),
        points=points_map(review.criteria, [10, 10, 10]),
    )
    assert Score.objects.filter(assignment=review.assignment(proposal, expert)).exists()
    assert state(admin_client.get(url(review.call)).content.decode(), proposal, expert) == "draft"


def test_conflicts_added_and_removed_without_an_audit_entry_show(review, admin_client):
    """The avoidance sync writes conflicts in bulk without audit entries: their count and highest
    id move the stamp, both when one is added and when one is removed."""
    proposal, expert = review.proposals[2], review.experts[2]
    other = review.proposals[0]
    Conflict.objects.create(expert=expert, proposal=other, reason=ConflictReason.EMPLOYER_UNIT, status="confirmed")
    html = admin_client.get(url(review.call)).content.decode()
    assert f'data-testid="progress-{other.pk}">0 / 2' in html
    conflict = Conflict.objects.create(
        expert=expert, proposal=proposal, reason=ConflictReason.EMPLOYER_UNIT, status=ConflictStatus.CONFIRMED
    )
    html = admin_client.get(url(review.call)).content.decode()
    assert f'data-testid="progress-{proposal.pk}">0 / 2' in html  # the blocked sheet no longer counts
    Conflict.objects.filter(pk=conflict.pk).delete()
    html = admin_client.get(url(review.call)).content.decode()
    assert f'data-testid="progress-{proposal.pk}">0 / 3' in html


def test_administrators_and_supervisors_never_share_an_entry(cast, review, client_for):
    give_score(review.assignment(review.proposals[0], review.experts[0]), split(70, review.criteria))
    admin_html = client_for(cast["administrator"]).get(url(review.call)).content.decode()
    supervisor_html = client_for(cast["supervisor"]).get(url(review.call)).content.decode()
    assert 'form="reopen-form"' in admin_html
    assert 'form="reopen-form"' not in supervisor_html and 'data-testid="read-only"' in supervisor_html
    # And the other way round: the supervisor's entry first.
    give_score(review.assignment(review.proposals[1], review.experts[0]), split(60, review.criteria))
    supervisor_html = client_for(cast["supervisor"]).get(url(review.call)).content.decode()
    admin_html = client_for(cast["administrator"]).get(url(review.call)).content.decode()
    assert admin_html.count('form="reopen-form"') == 2 and 'form="reopen-form"' not in supervisor_html


def test_languages_never_share_an_entry(review, admin_client):
    give_score(review.assignment(review.proposals[0], review.experts[0]), split(70, review.criteria))
    chinese = admin_client.get(url(review.call)).content.decode()
    english = admin_client.get(url(review.call, en=True)).content.decode()
    assert "未开始" in chinese and "not started" in english and "未开始" not in english
    assert 'formaction="/en/reviews/scores/' in english and 'formaction="/reviews/scores/' in chinese


def test_pages_never_share_an_entry_and_the_page_number_is_checked(cast, client_for, admin_client):
    review = review_call(cast["administrator"], proposals=52, experts=1)
    rows = lambda html: re.findall(r'<tr data-testid="row-(\d+)"', html)  # noqa: E731
    first = rows(admin_client.get(url(review.call)).content.decode())
    second = rows(admin_client.get(url(review.call) + "?page=2").content.decode())
    assert len(first) == 50 and len(second) == 2 and not set(first) & set(second)
    # Anything but a page number is page 1 (and never part of a cache key).
    odd = admin_client.get(url(review.call) + "?page=2%20x")
    assert odd.status_code == 200 and rows(odd.content.decode()) == first


def test_another_chain_with_the_same_sequence_number_never_gets_this_ones_pages(review, admin_client):
    """Two databases sharing one cache (or a restore of another one's backup) can reach the same
    audit sequence number, never the same head hash: the hash is part of the stamp."""
    from audit.models import AuditHead
    from reviews.models import Assignment

    proposal, expert = review.proposals[0], review.experts[0]
    assert state(admin_client.get(url(review.call)).content.decode(), proposal, expert) == "not_started"
    # The "other database": the same sequence number, another chain, another state.
    Assignment.objects.filter(pk=review.assignment(proposal, expert).pk).update(active=False)
    AuditHead.objects.update_or_create(pk=1, defaults={"last_hash": "f" * 64})
    assert state(admin_client.get(url(review.call)).content.decode(), proposal, expert) == "none"
