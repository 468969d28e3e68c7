"""回避: each rule both ways, sticky decisions, declared conflicts, recompute triggers."""

from datetime import timedelta

import pytest
from django.utils import timezone

from experts import avoidance
from experts.choices import ConflictReason as R
from experts.choices import ConflictStatus
from experts.models import AvoidPerson, AvoidUnit, Conflict, Employment, Expert, UnsuitableExpert
from proposals import services
from tests.factories import OrganizationFactory, UserFactory
from tests.factories_proposals import complete_proposal, new_person_id, open_call, person_name

pytestmark = pytest.mark.django_db


def make_expert(employer=None, *, left_days_ago=None, name=None, id_number=None):
    user = UserFactory(is_expert=True)
    id_number = id_number or new_person_id()
    expert = Expert.objects.create(
        user=user,
        name=name or person_name(id_number),
        id_number=id_number,
        expert_type="technical",
        fields=["energy_storage"],
    )
    if employer is not None:
        ended = None if left_days_ago is None else timezone.localdate() - timedelta(days=left_days_ago)
        Employment.objects.create(expert=expert, organization=employer, started_on=None, ended_on=ended)
    return expert


@pytest.fixture
def call(issuer_org):
    return open_call(issuer=issuer_org)


@pytest.fixture
def proposal(call, lead_applicant, member_org):
    return complete_proposal(call, lead_applicant, members=[member_org])


def reasons(expert, proposal):
    avoidance.sync([proposal])
    return {c.reason: c.status for c in Conflict.objects.filter(expert=expert, proposal=proposal)}


def test_unrelated_expert_has_no_conflict(proposal):
    assert reasons(make_expert(OrganizationFactory()), proposal) == {}


@pytest.mark.parametrize("which", ["lead", "member"])
def test_employer_is_a_consortium_unit(proposal, lead_org, member_org, which):
    expert = make_expert(lead_org if which == "lead" else member_org)
    assert reasons(expert, proposal) == {R.EMPLOYER_UNIT: ConflictStatus.CONFIRMED}


def test_former_employer_within_three_years_counts_and_older_does_not(proposal, lead_org):
    recent = make_expert(lead_org, left_days_ago=365 * 2)
    old = make_expert(lead_org, left_days_ago=365 * 3 + 30)
    assert R.EMPLOYER_UNIT in reasons(recent, proposal)
    assert reasons(old, proposal) == {}


def test_employer_is_the_issuer_or_a_co_issuer(proposal, call, issuer_org):
    assert R.EMPLOYER_ISSUER in reasons(make_expert(issuer_org), proposal)
    co = OrganizationFactory()
    expert = make_expert(co)
    assert reasons(expert, proposal) == {}
    call.co_issuers.add(co)
    assert R.EMPLOYER_ISSUER in reasons(expert, proposal)


def test_expert_on_the_team(call, lead_applicant):
    expert = make_expert(OrganizationFactory())
    other = complete_proposal(call, lead_applicant)
    assert reasons(expert, other) == {}
    services.withdraw_proposal(actor=lead_applicant, proposal=other)
    on_team = complete_proposal(call, lead_applicant, team=[(expert.id_number, expert.name)])
    assert reasons(expert, on_team) == {R.ON_TEAM: ConflictStatus.CONFIRMED}


def test_avoid_list_units_by_credit_code(proposal, member_org):
    expert = make_expert(OrganizationFactory())
    AvoidUnit.objects.create(expert=expert, credit_code=OrganizationFactory().credit_code)
    assert reasons(expert, proposal) == {}
    AvoidUnit.objects.create(expert=expert, credit_code=member_org.credit_code)
    assert reasons(expert, proposal) == {R.AVOID_UNIT: ConflictStatus.CONFIRMED}


def test_avoid_list_people_by_id_and_by_name_only(proposal):
    pi = proposal.team.get(role="pi").person
    by_id = make_expert(OrganizationFactory())
    AvoidPerson.objects.create(expert=by_id, name="别人", id_number=new_person_id())
    assert reasons(by_id, proposal) == {}
    AvoidPerson.objects.create(expert=by_id, name=pi.name, id_number=pi.id_number)
    assert reasons(by_id, proposal) == {R.AVOID_PERSON: ConflictStatus.CONFIRMED}
    by_name = make_expert(OrganizationFactory())
    AvoidPerson.objects.create(expert=by_name, name=pi.name)
    assert reasons(by_name, proposal) == {R.NAME_MATCH: ConflictStatus.POTENTIAL}


def test_applicant_named_expert_as_unsuitable(proposal):
    expert = make_expert(OrganizationFactory())
    assert reasons(expert, proposal) == {}
    UnsuitableExpert.objects.create(proposal=proposal, expert=expert, reason="学术观点分歧")
    assert reasons(expert, proposal) == {R.UNSUITABLE: ConflictStatus.CONFIRMED}


def test_possible_conflict_decisions_stick(proposal, administrator):
    pi = proposal.team.get(role="pi").person
    expert = make_expert(OrganizationFactory())
    AvoidPerson.objects.create(expert=expert, name=pi.name)
    avoidance.sync([proposal])
    conflict = Conflict.objects.get(expert=expert, proposal=proposal)
    assert (expert.pk, proposal.pk) in avoidance.blocked_pairs([proposal.pk])  # blocks until decided
    avoidance.decide(actor=administrator, conflict=conflict, confirm=False)
    avoidance.sync([proposal])
    avoidance.sync([proposal])
    assert Conflict.objects.get(pk=conflict.pk).status == ConflictStatus.DISMISSED
    assert (expert.pk, proposal.pk) not in avoidance.blocked_pairs([proposal.pk])
    # Even when its basis goes away and comes back, the decision stays.
    AvoidPerson.objects.filter(expert=expert).delete()
    avoidance.sync([proposal])
    assert Conflict.objects.get(pk=conflict.pk).status == ConflictStatus.DISMISSED


def test_declared_conflicts_survive_recompute_and_block(proposal, administrator):
    expert = make_expert(OrganizationFactory())
    avoidance.declare(actor=expert.user, expert=expert, proposal=proposal, reason=R.TEACHER_STUDENT, detail="博士导师")
    avoidance.sync([proposal])
    conflict = Conflict.objects.get(expert=expert, proposal=proposal)
    assert conflict.declared and conflict.status == ConflictStatus.CONFIRMED
    assert (expert.pk, proposal.pk) in avoidance.blocked_pairs([proposal.pk])


def test_stale_computed_conflicts_are_removed_on_recompute(proposal, lead_org):
    expert = make_expert(lead_org)
    assert R.EMPLOYER_UNIT in reasons(expert, proposal)
    Employment.objects.filter(expert=expert).update(ended_on=timezone.localdate() - timedelta(days=365 * 4))
    assert reasons(expert, proposal) == {}


def test_submission_recomputes_avoidance(call, lead_applicant, lead_org, django_capture_on_commit_callbacks):
    expert = make_expert(lead_org)
    proposal = complete_proposal(call, lead_applicant)
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_proposal(actor=lead_applicant, proposal=proposal)
    assert Conflict.objects.filter(expert=expert, proposal=proposal, reason=R.EMPLOYER_UNIT).exists()


def test_indexes_scale_with_hits_not_pairs(call, lead_applicant, django_assert_max_num_queries):
    proposal = complete_proposal(call, lead_applicant)
    for _ in range(30):
        make_expert(OrganizationFactory())
    with django_assert_max_num_queries(12):
        avoidance.compute_hits([proposal])


def test_submission_queues_the_sync_as_a_task_without_a_result(call, lead_applicant, monkeypatch):
    """The sync runs off the applicant's request (a Celery task, eager here), queued once the
    submission has committed; nobody waits for its result."""
    from experts import tasks

    queued = []
    monkeypatch.setattr(tasks.sync_proposal_conflicts, "delay", lambda *args: queued.append(args))
    proposal = complete_proposal(call, lead_applicant)
    services.submit_proposal(actor=lead_applicant, proposal=proposal)
    assert queued == []  # not before the commit (the test's transaction never commits)
    from experts.signals import recompute_for_proposal

    recompute_for_proposal(sender=None, proposal=proposal)
    assert queued == [(proposal.pk,)]
    assert tasks.sync_proposal_conflicts.ignore_result is True


def test_the_sync_task_stores_the_conflicts(call, lead_applicant, lead_org):
    from experts.tasks import sync_proposal_conflicts

    expert = make_expert(lead_org)
    proposal = complete_proposal(call, lead_applicant)
    counts = sync_proposal_conflicts.delay(proposal.pk).get()
    assert counts["created"] >= 1
    assert Conflict.objects.filter(expert=expert, proposal=proposal, reason=R.EMPLOYER_UNIT).exists()


def test_an_unreachable_broker_syncs_in_process(call, lead_applicant, lead_org, monkeypatch):
    from kombu.exceptions import OperationalError

    from experts import tasks
    from experts.signals import recompute_for_proposal

    def unreachable(*args):
        raise OperationalError("connection refused")

    monkeypatch.setattr(tasks.sync_proposal_conflicts, "delay", unreachable)
    expert = make_expert(lead_org)
    proposal = complete_proposal(call, lead_applicant)
    recompute_for_proposal(sender=None, proposal=proposal)
    assert Conflict.objects.filter(expert=expert, proposal=proposal, reason=R.EMPLOYER_UNIT).exists()


def test_a_sync_over_many_proposals_runs_in_passes_with_the_same_result(
    call, lead_applicant, lead_org, member_org, monkeypatch
):
    # PostgreSQL binds at most 65,535 parameters per query: a sync over a whole large programme
    # (the ID numbers and names of every team) runs in passes so no lookup comes near that.
    first = complete_proposal(call, lead_applicant, members=[member_org])
    services.withdraw_proposal(actor=lead_applicant, proposal=first)
    second = complete_proposal(call, lead_applicant, members=[member_org])
    at_lead, at_member = make_expert(lead_org), make_expert(member_org)
    pi = second.team.get(role="pi").person
    AvoidPerson.objects.create(expert=at_member, name=pi.name)
    monkeypatch.setattr(avoidance, "SYNC_CHUNK", 1)
    report = avoidance.sync([first, second])
    stored = set(Conflict.objects.values_list("expert_id", "proposal_id", "reason"))
    assert stored == {
        (at_lead.pk, first.pk, R.EMPLOYER_UNIT),
        (at_member.pk, first.pk, R.EMPLOYER_UNIT),
        (at_lead.pk, second.pk, R.EMPLOYER_UNIT),
        (at_member.pk, second.pk, R.EMPLOYER_UNIT),
        (at_member.pk, second.pk, R.NAME_MATCH),
    }
    assert report == {"hits": 5, "created": 5, "removed": 0}
    monkeypatch.setattr(avoidance, "SYNC_CHUNK", 1000)
    assert avoidance.sync([first, second]) == {"hits": 5, "created": 0, "removed": 0}
