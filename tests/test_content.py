"""proposals.content.load: the same proposal, relations and order as Proposal.objects.with_content(),
without compiling the queries again — compared field by field on the backend the suite runs on."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from proposals import content, services
from proposals.choices import AttachmentKind
from proposals.models import Attachment, Proposal
from proposals.snapshot import build_snapshot
from tests.factories import OrganizationFactory
from tests.factories_proposals import complete_proposal, new_person_id

pytestmark = pytest.mark.django_db


def values(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def tree(proposal) -> dict:
    """Every value with_content loads, read through the relations a page or a rule uses."""
    call = proposal.call
    return {
        "proposal": values(proposal),
        "call": values(call),
        "programme": values(call.programme),
        "issuer": values(call.issuer),
        "lead": values(proposal.lead_organization),
        "units": [(values(u), values(u.organization)) for u in proposal.units.all()],
        "team": [
            (values(m), values(m.person), values(m.unit), values(m.unit.organization)) for m in proposal.team.all()
        ],
        "commitments": [(values(c), values(c.target)) for c in proposal.commitments.all()],
        "milestones": [values(m) for m in proposal.milestones.all()],
        "budget": [values(b) for b in proposal.budget_lines.all()],
        "attachments": [values(a) for a in proposal.attachments.all()],
        "targets": [values(t) for t in call.targets.all()],
        "co_issuers": [values(o) for o in call.co_issuers.all()],
    }


@pytest.fixture
def rich(call, lead_applicant):
    """Several rows in every list, a co-issuer, and a removed attachment the content leaves out."""
    members = [OrganizationFactory() for _ in range(3)]
    call.co_issuers.add(OrganizationFactory(), OrganizationFactory())
    proposal = complete_proposal(
        call,
        lead_applicant,
        members=members,
        team=[(new_person_id(), "", org) for org in members],
        attachments=[AttachmentKind.INTEGRITY_PLEDGE, AttachmentKind.MATCHING_FUNDS]
        + [AttachmentKind.CONSORTIUM_AGREEMENT, AttachmentKind.OTHER, AttachmentKind.OTHER],
    )
    removed = proposal.attachments.filter(kind=AttachmentKind.OTHER).first()
    Attachment.objects.filter(pk=removed.pk).update(removed_at=timezone.now())
    return proposal


def test_load_gives_what_with_content_gives(rich, django_assert_num_queries):
    expected = tree(Proposal.objects.with_content().get(pk=rich.pk))
    with django_assert_num_queries(9):  # the proposal with its joins, then one query per list
        loaded = content.load(rich.pk)
    with django_assert_num_queries(0):  # everything is in place: no query to read it
        got = tree(loaded)
        snapshot = build_snapshot(loaded)
    assert got == expected
    assert len(got["units"]) == 4 and len(got["team"]) == 4 and len(got["co_issuers"]) == 2
    assert len(got["attachments"]) == 4  # the removed one left out
    assert snapshot == build_snapshot(Proposal.objects.with_content().get(pk=rich.pk))


def test_a_second_load_reads_changes_and_answers_from_the_same_sql(rich, lead_applicant):
    content.load(rich.pk)
    services.update_basics(actor=lead_applicant, proposal=rich, summary="改过的摘要")
    Attachment.objects.filter(proposal=rich).update(removed_at=timezone.now())
    loaded = content.load(rich.pk)
    assert loaded.summary == "改过的摘要"
    assert list(loaded.attachments.all()) == []


def test_rows_point_back_to_their_owner_and_further_filters_query_under_the_same_condition(
    rich, django_assert_num_queries
):
    loaded = content.load(rich.pk)
    with django_assert_num_queries(0):
        assert all(u.proposal is loaded for u in loaded.units.all())
        assert all(t.call is loaded.call for t in loaded.call.targets.all())
    with django_assert_num_queries(1):
        # A filter on a loaded list asks the database, within the proposal and the list's condition.
        assert loaded.attachments.filter(kind=AttachmentKind.OTHER).count() == 1
    assert loaded.units.filter(role="member").count() == 3


def test_locked_load_counts_submissions(rich, lead_applicant):
    with transaction.atomic():
        assert content.load(rich.pk, lock=True, count_submissions=True).submission_count == 0
    services.submit_proposal(actor=lead_applicant, proposal=rich)
    with transaction.atomic():
        locked = content.load(rich.pk, lock=True, count_submissions=True)
    assert locked.submission_count == 1
    assert locked.status == "submitted"
    assert tree(locked) == tree(Proposal.objects.with_content().get(pk=rich.pk))


def test_types_come_back_as_the_orm_converts_them(rich):
    loaded = content.load(rich.pk)
    reference = Proposal.objects.with_content().get(pk=rich.pk)
    pairs = [
        (loaded.call.deadline, reference.call.deadline),  # an aware datetime, also on SQLite
        (loaded.eligibility, reference.eligibility),  # JSON
        (loaded.budget_lines.all()[0].amount, reference.budget_lines.all()[0].amount),  # Decimal
    ]
    for got, expected in pairs:
        assert type(got) is type(expected) and got == expected
    assert loaded.call.deadline - timezone.now() > timedelta(0)


def test_a_missing_proposal_is_none(db):
    assert content.load(987654321) is None


def test_without_lists_only_the_proposal_row_and_its_joins_are_loaded(rich, django_assert_num_queries):
    with django_assert_num_queries(1):
        light = content.load(rich.pk, lists=False)
    reference = tree(Proposal.objects.with_content().get(pk=rich.pk))
    with django_assert_num_queries(0):
        assert values(light) == reference["proposal"] and values(light.call.programme) == reference["programme"]
        assert values(light.lead_organization) == reference["lead"] and values(light.call.issuer) == reference["issuer"]
    with django_assert_num_queries(1):  # the lists are read on demand
        assert len(light.units.all()) == 4


def test_a_failed_load_raises_djangos_error_and_the_connection_goes_on(rich):
    # On PostgreSQL the queries go in one pipeline: an error comes back when it is synced, and must
    # arrive as Django's exception (so callers' handlers and the atomic block see it) and leave the
    # connection usable.
    from django.db import DatabaseError, connection

    if connection.vendor != "postgresql":
        pytest.skip("the pipeline is PostgreSQL's")
    with pytest.raises(DatabaseError), transaction.atomic():
        content.load("not a number")
    assert content.load(rich.pk).pk == rich.pk
    with transaction.atomic():
        assert content.load(rich.pk, lock=True).pk == rich.pk


def test_the_programme_is_read_again_as_locked_after_the_content(rich, django_assert_num_queries):
    # The settings change between the proposal's query (which joins the programme) and the
    # programme's locking query: the loaded proposal carries the locked row's values.
    from django.db import connection

    programme = rich.call.programme
    changed = []

    def change_before_the_programme_lock(execute, sql, params, many, context):
        if not changed and sql.lstrip().startswith('SELECT "calls_programme"'):  # FOR UPDATE where there are locks
            changed.append(sql)
            type(programme).objects.filter(pk=programme.pk).update(person_proposal_limit=7)
        return execute(sql, params, many, context)

    assert programme.person_proposal_limit != 7
    with transaction.atomic(), connection.execute_wrapper(change_before_the_programme_lock):
        locked = content.load(rich.pk, lock=True, lock_programme=True)
    assert changed, "the programme's own query ran"
    assert locked.call.programme.person_proposal_limit == 7  # read as locked, not as first joined
    assert locked.call.programme.pk == programme.pk
    # The nine, then the programme's row and, on PostgreSQL, its settings lock before it and the limit
    # locks of the team's people after it.
    with transaction.atomic(), django_assert_num_queries(12 if connection.vendor == "postgresql" else 10):
        content.load(rich.pk, lock=True, lock_programme=True)
    assert tree(locked) == tree(Proposal.objects.with_content().get(pk=rich.pk))


def test_an_id_beyond_any_row_finds_nothing(client_for, lead_applicant):
    from proposals.eligibility import TEAM_ELSEWHERE

    huge = 2**64
    assert content.load(huge) is None
    assert TEAM_ELSEWHERE.rows(huge, 1) == []
    assert client_for(lead_applicant).get(f"/proposals/{huge}/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_a_locking_load_is_refused_and_a_page_load_works(rich):
    from django.db import DatabaseError, connection
    from django.db.transaction import TransactionManagementError

    with pytest.raises(TransactionManagementError):
        content.load(rich.pk, lock=True)
    assert tree(content.load(rich.pk)) == tree(Proposal.objects.with_content().get(pk=rich.pk))
    if connection.vendor == "postgresql":  # the pipeline in autocommit: an error, then the next load
        with pytest.raises(DatabaseError):
            content.load("not a number")
        assert content.load(rich.pk).pk == rich.pk
