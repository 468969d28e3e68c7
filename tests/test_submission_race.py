"""Submissions racing each other and the deadline, on real PostgreSQL row locks.

submit_proposal locks the proposal's row, takes the programme's settings lock shared
(calls.locks) and the limit lock of each person on the team, evaluates eligibility, and checks the
deadline again as the last statement before COMMIT. These tests fire real
threads (each with its own database connection) at it:

1. the deadline race: many proposals submitted around the deadline; every one
   is either in before the deadline with exactly one Submission, or refused
   with the deadline named and its draft untouched;
2. the limit race: one PI leads two proposals of a programme; both are submitted
   at the same instant; the two submissions take the PI's limit lock in turn, so
   exactly one gets in and the other is refused for the PI limit;
3. the locks themselves: who waits for whom (submits with no one in common do not
   wait for each other; a change to the programme's settings and a submit do).

Run with -s to see the one-line summaries.
"""

import threading
import time
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from audit.services import verify_chain
from calls.models import Call
from proposals.choices import ProposalStatus
from proposals.models import Proposal, Submission, TeamMember
from proposals.services import TransitionError, submit_proposal
from tests.factories import OrganizationFactory
from tests.factories_calls import ProgrammeFactory
from tests.factories_proposals import (
    applicant_for,
    complete_proposal,
    content_counts,
    new_person_id,
    open_call,
)
from tests.services import need

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

THREADS = 24
DEADLINE_IN = 1.5  # seconds after the threads are released
SPREAD = 3.0  # the threads go in pairs, the pairs' delays evenly from 0 to SPREAD seconds
LIMIT_ROUNDS = 5


@pytest.fixture(autouse=True)
def postgres_only():
    need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://…)")


@dataclass
class Outcome:
    outcome: str  # "submitted" | "refused" | "error"
    message: str = ""
    code: str | None = None
    started: float = 0.0  # time.monotonic()
    ended: float = 0.0
    finished_at: object = None  # aware datetime when the call returned

    @property
    def latency(self) -> float:
        return self.ended - self.started


def _submit_in_thread(pk, user, barrier, delay, outcomes):
    """One applicant pressing 提交: own connection, released with the others, closed at the end."""
    try:
        proposal = Proposal.objects.select_related("call__programme").get(pk=pk)
        barrier.wait(timeout=60)
        if delay:
            time.sleep(delay)
        started = time.monotonic()
        try:
            submit_proposal(actor=user, proposal=proposal)
            result = Outcome("submitted")
        except TransitionError as error:
            result = Outcome("refused", " ".join(error.messages), getattr(error, "code", None))
        result.started, result.ended, result.finished_at = started, time.monotonic(), timezone.now()
        outcomes[pk] = result
    except Exception as error:  # reported by the test, never swallowed
        outcomes[pk] = Outcome("error", repr(error))
    finally:
        connection.close()


def _run(threads):
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a submitting thread hung"


def test_deadline_race_every_proposal_is_either_in_on_time_or_untouched():
    programme = ProgrammeFactory()
    call = open_call(programme)
    users = [applicant_for(OrganizationFactory()) for _ in range(THREADS)]
    proposals = [complete_proposal(call, user) for user in users]
    before = {p.pk: content_counts(p) for p in proposals}

    barrier = threading.Barrier(THREADS + 1)
    # Two threads per moment, so each pair also contends for the audit trail's head.
    delays = [SPREAD * (i // 2) / (THREADS // 2 - 1) for i in range(THREADS)]
    outcomes: dict[int, Outcome] = {}
    threads = [
        threading.Thread(target=_submit_in_thread, args=(p.pk, user, barrier, delay, outcomes))
        for p, user, delay in zip(proposals, users, delays, strict=True)
    ]
    # Set now (the drafts were built under a far deadline); ~0.3 s covers starting the threads.
    deadline = timezone.now() + timedelta(seconds=DEADLINE_IN + 0.3)
    Call.objects.filter(pk=call.pk).update(deadline=deadline)
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    released = timezone.now()
    for thread in threads:
        thread.join(timeout=60)
    assert not any(thread.is_alive() for thread in threads), "a submitting thread hung"

    errors = {pk: o.message for pk, o in outcomes.items() if o.outcome == "error"}
    assert not errors, errors
    assert set(outcomes) == set(before)

    shown = timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")
    submitted, refused = [], []
    for proposal in proposals:
        stored = Proposal.objects.get(pk=proposal.pk)
        outcome = outcomes[proposal.pk]
        submissions = list(Submission.objects.filter(proposal=stored))
        if stored.status == ProposalStatus.SUBMITTED:
            assert outcome.outcome == "submitted", (outcome, stored.status)
            assert stored.submitted_at is not None and stored.submitted_at < deadline
            assert len(submissions) == 1
            assert submissions[0].version == 1 and submissions[0].submitted_at == stored.submitted_at
            submitted.append((proposal, stored, outcome))
        else:
            assert stored.status == ProposalStatus.DRAFT, stored.status
            assert outcome.outcome == "refused", outcome
            assert stored.submitted_at is None
            assert submissions == []
            assert content_counts(stored) == before[proposal.pk]
            # Refused for the deadline, and for nothing else: the message names it.
            assert shown in outcome.message, outcome.message
            assert outcome.finished_at >= deadline
            if outcome.code != "deadline":  # refused by the eligibility check: its results are kept
                failed = [r["rule"] for r in stored.eligibility if not r["ok"]]
                assert failed == ["deadline"], stored.eligibility
            refused.append((proposal, stored, outcome))

    assert submitted, "no submission got in before the deadline: the delays need tuning"
    assert refused, "no submission was late: the delays need tuning"
    assert Submission.objects.filter(proposal__call=call).count() == len(submitted)
    chain = verify_chain()
    assert chain.ok, chain

    last_in = max((s.submitted_at - deadline).total_seconds() for _p, s, _o in submitted)
    first_out = min((o.finished_at - deadline).total_seconds() for _p, _s, o in refused)
    late_checks = sum(1 for _p, _s, o in refused if o.code == "deadline")
    max_latency = max(o.latency for o in outcomes.values())
    print(
        f"\n[deadline race] {THREADS} threads released {(deadline - released).total_seconds():.2f} s before the "
        f"deadline, delays 0–{SPREAD:.1f} s: {len(submitted)} submitted (last {last_in * 1000:+.0f} ms vs deadline), "
        f"{len(refused)} refused with the deadline reason (first {first_out * 1000:+.0f} ms; {late_checks} by the "
        f"pre-commit check), 0 proposals with 2 submissions, drafts intact; max submit latency "
        f"{max_latency * 1000:.0f} ms; audit chain ok ({chain.checked} entries)"
    )


def _limit_round():
    """Two lead units, one PI (same ID number), one programme; both submit at once."""
    programme = ProgrammeFactory()
    call = open_call(programme)
    pi = new_person_id()
    users = [applicant_for(OrganizationFactory()) for _ in range(2)]
    proposals = [complete_proposal(call, user, pi_id=pi) for user in users]
    before = {p.pk: content_counts(p) for p in proposals}
    barrier = threading.Barrier(2)
    outcomes: dict[int, Outcome] = {}
    _run(
        [
            threading.Thread(target=_submit_in_thread, args=(p.pk, user, barrier, 0, outcomes))
            for p, user in zip(proposals, users, strict=True)
        ]
    )
    errors = {pk: o.message for pk, o in outcomes.items() if o.outcome == "error"}
    assert not errors, errors

    winners = [p for p in proposals if outcomes[p.pk].outcome == "submitted"]
    losers = [p for p in proposals if outcomes[p.pk].outcome == "refused"]
    assert len(winners) == 1 and len(losers) == 1, {pk: o.outcome for pk, o in outcomes.items()}
    winner, loser = winners[0], losers[0]

    assert Proposal.objects.get(pk=winner.pk).status == ProposalStatus.SUBMITTED
    assert Submission.objects.filter(proposal=winner).count() == 1
    stored = Proposal.objects.get(pk=loser.pk)
    assert stored.status == ProposalStatus.DRAFT and stored.eligible is False
    assert Submission.objects.filter(proposal=loser).count() == 0
    assert content_counts(stored) == before[loser.pk]
    limits = next(r for r in stored.eligibility if r["rule"] == "limits")
    assert [p["key"] for p in limits["problems"]] == ["pi_limit"], limits
    assert [r["rule"] for r in stored.eligibility if not r["ok"]] == ["limits"]
    assert winner.title in outcomes[loser.pk].message, outcomes[loser.pk].message
    first, second = sorted(outcomes.values(), key=lambda o: o.started)
    overlapped = second.started < first.ended
    return overlapped, max(o.latency for o in outcomes.values())


def test_limit_race_one_pi_two_proposals_exactly_one_gets_in():
    overlaps, latencies = [], []
    for _round in range(LIMIT_ROUNDS):
        overlapped, latency = _limit_round()
        overlaps.append(overlapped)
        latencies.append(latency)
    chain = verify_chain()
    assert chain.ok, chain
    print(
        f"\n[limit race] {LIMIT_ROUNDS}/{LIMIT_ROUNDS} rounds: exactly one of two simultaneous submissions by the "
        f"same PI got in, the other was refused for the PI limit naming it; the two calls overlapped in "
        f"{sum(overlaps)}/{LIMIT_ROUNDS} rounds; max latency {max(latencies) * 1000:.0f} ms"
    )


def test_editing_a_draft_locks_only_the_proposal_not_its_programme():
    """A draft save holds its proposal's row lock; a submit of another proposal of the same
    programme must still get the programme lock at once (found by bench/surge.py: locking the
    joined call and programme rows deadlocked saves against submits)."""
    from django.db import DatabaseError, connections, transaction

    from calls.models import Programme
    from proposals.services import _lock

    lead = applicant_for(OrganizationFactory())
    proposal = complete_proposal(open_call(), lead)
    holding, release = threading.Event(), threading.Event()

    def save_in_progress():
        try:
            with transaction.atomic():
                _lock(proposal)
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    saver = threading.Thread(target=save_in_progress)
    saver.start()
    try:
        assert holding.wait(10)
        with transaction.atomic():
            try:
                Programme.objects.select_for_update(nowait=True).get(pk=proposal.call.programme_id)
                Call.objects.select_for_update(nowait=True).get(pk=proposal.call_id)
            except DatabaseError as exc:  # "could not obtain lock on row"
                pytest.fail(f"a draft save locked more than its proposal: {exc}")
            # The proposal itself is locked, as it must be.
            with pytest.raises(DatabaseError), transaction.atomic():
                Proposal.objects.select_for_update(nowait=True).get(pk=proposal.pk)
    finally:
        release.set()
        saver.join(10)


def test_a_submit_waits_for_the_programme_and_applies_its_settings_as_locked():
    """An administrator's change to the programme holds its row; a submit loads its content, waits
    for the programme's settings lock, and applies the settings as committed: here a matching ratio that the
    proposal no longer meets, so it is refused for that and stays a draft."""
    from decimal import Decimal

    from django.db import connections, transaction

    from calls.models import Programme

    lead = applicant_for(OrganizationFactory())
    proposal = complete_proposal(open_call(), lead)
    holding, release = threading.Event(), threading.Event()
    outcome = {}

    def change_settings():
        try:
            with transaction.atomic():
                programme = Programme.objects.select_for_update().get(pk=proposal.call.programme_id)
                programme.matching_ratio = Decimal("2.50")
                programme.save(update_fields=["matching_ratio"])
                holding.set()
                release.wait(10)
        finally:
            connections.close_all()

    def submitting():
        try:
            submit_proposal(actor=lead, proposal=proposal)
            outcome["submitted"] = True
        except TransitionError as exc:
            outcome["refused"] = exc
        finally:
            connections.close_all()

    admin = threading.Thread(target=change_settings)
    admin.start()
    submitter = threading.Thread(target=submitting)
    try:
        assert holding.wait(10)
        submitter.start()
        time.sleep(0.5)
        assert submitter.is_alive()  # waiting for the programme's settings lock
    finally:
        release.set()
        admin.join(10)
        submitter.join(10)
    assert "refused" in outcome, outcome
    stored = Proposal.objects.get(pk=proposal.pk)
    assert stored.status == ProposalStatus.DRAFT and not Submission.objects.filter(proposal=proposal).exists()
    failed = [r for r in stored.eligibility if not r["ok"]]
    assert [r["rule"] for r in failed] == ["matching"]
    assert failed[0]["problems"][0]["params"]["required"] == "2.50"


def _holding_submit_locks(proposal, holding, release, seen=None):
    """What a submit holds while it checks the rules and writes: the proposal's row, the programme's
    settings lock shared and the limit locks of the team's people (the same load submit_proposal
    makes). ``seen`` gets the programme as loaded."""
    from django.db import connections, transaction

    from proposals import content

    try:
        with transaction.atomic():
            loaded = content.load(proposal.pk, lock=True, count_submissions=True, lock_programme=True)
            if seen is not None:
                seen["programme"] = loaded.call.programme
            holding.set()
            release.wait(10)
    finally:
        connections.close_all()


def _submit_while_held(held, other, lead):
    """Submit `other` while a thread holds `held`'s submit locks: (outcome after 0.5 s, final)."""
    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holding_submit_locks, args=(held, holding, release))
    outcomes, barrier = {}, threading.Barrier(1)
    submitter = threading.Thread(target=_submit_in_thread, args=(other.pk, lead, barrier, 0, outcomes))
    holder.start()
    try:
        assert holding.wait(10)
        submitter.start()
        submitter.join(0.5)
        early = outcomes.get(other.pk)
    finally:
        release.set()
        holder.join(10)
        submitter.join(10)
    return early, outcomes.get(other.pk)


def test_submits_with_no_one_in_common_do_not_wait_for_each_other():
    """The deadline surge: hundreds of consortia of one programme submit at once. Only submits that
    share a person must take turns (the limits rule); the others go through side by side."""
    call = open_call()
    leads = [applicant_for(OrganizationFactory()) for _ in range(2)]
    held, other = (complete_proposal(call, lead) for lead in leads)
    early, final = _submit_while_held(held, other, leads[1])
    assert early is not None and early.outcome == "submitted", early
    assert final.latency < 0.5
    assert Proposal.objects.get(pk=other.pk).status == ProposalStatus.SUBMITTED


def test_a_submit_waits_for_another_submit_with_a_person_in_common():
    """A core member of one proposal is the PI of the other: the second submit waits for the first
    to finish before it counts that person's places, then goes in (the first did not submit)."""
    call = open_call()
    shared = new_person_id()
    leads = [applicant_for(OrganizationFactory()) for _ in range(2)]
    held = complete_proposal(call, leads[0], team=[(shared, "共同成员")])
    other = complete_proposal(call, leads[1], pi_id=shared, pi_name="共同成员")
    early, final = _submit_while_held(held, other, leads[1])
    assert early is None  # still waiting for the person's limit lock
    assert final.outcome == "submitted", final
    assert final.latency >= 0.5


def _change_settings(programme_id, started, done, timeout="5s"):
    """An administrator's change to the programme's settings (Programme.save, as the admin saves)."""
    from decimal import Decimal

    from django.db import connections, transaction

    from calls.models import Programme

    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(f"SET LOCAL lock_timeout = '{timeout}'")
            programme = Programme.objects.get(pk=programme_id)
            programme.matching_ratio = Decimal("2.10")
            started.set()
            programme.save()
        done["saved"] = time.monotonic()
    except Exception as exc:  # reported by the test
        done["error"] = repr(exc)
    finally:
        connections.close_all()


def test_a_change_to_the_programme_waits_for_the_submits_reading_it():
    """Two submits check the programme at once (they share its settings lock); an administrator's
    change to the settings waits until both are done, then goes through."""
    call = open_call()
    leads = [applicant_for(OrganizationFactory()) for _ in range(2)]
    first, second = (complete_proposal(call, lead) for lead in leads)
    holding = [threading.Event(), threading.Event()]
    release = threading.Event()
    holders = [
        threading.Thread(target=_holding_submit_locks, args=(p, event, release))
        for p, event in zip((first, second), holding, strict=True)
    ]
    started, done = threading.Event(), {}
    change = threading.Thread(target=_change_settings, args=(call.programme_id, started, done))
    for holder in holders:
        holder.start()
    try:
        assert all(event.wait(10) for event in holding)  # both hold the settings lock at once
        change.start()
        assert started.wait(10)
        change.join(0.5)
        assert change.is_alive() and not done  # waiting for the two submits
    finally:
        released = time.monotonic()
        release.set()
        for holder in holders:
            holder.join(10)
        change.join(10)
    assert "error" not in done, done
    assert done["saved"] >= released
    call.programme.refresh_from_db()
    assert str(call.programme.matching_ratio) == "2.10"


def test_a_waiting_change_to_the_programme_is_not_overtaken_by_later_submits():
    """While a change waits for a submit in progress, a submit that starts after it waits for the
    change and then checks the new settings, instead of going ahead of it: in the last minutes of a
    call new submits keep coming, and a change that every newcomer could overtake would never go
    through."""
    call = open_call()
    leads = [applicant_for(OrganizationFactory()) for _ in range(2)]
    first, second = (complete_proposal(call, lead) for lead in leads)
    holding, release = threading.Event(), threading.Event()
    later_holding, later_release, seen = threading.Event(), threading.Event(), {}
    holder = threading.Thread(target=_holding_submit_locks, args=(first, holding, release))
    newcomer = threading.Thread(target=_holding_submit_locks, args=(second, later_holding, later_release, seen))
    started, done = threading.Event(), {}
    change = threading.Thread(target=_change_settings, args=(call.programme_id, started, done))
    holder.start()
    try:
        assert holding.wait(10)
        change.start()
        assert started.wait(10)
        time.sleep(0.3)  # the change is now queued for the settings lock
        newcomer.start()
        assert not later_holding.wait(0.5)  # queued behind the change, not sharing with the first
        release.set()  # the first submit ends: the change goes through, then the newcomer
        assert later_holding.wait(10)
    finally:
        release.set()
        later_release.set()
        for thread in (holder, change, newcomer):
            if thread.is_alive() or thread.ident:
                thread.join(10)
    assert "error" not in done, done
    assert str(seen["programme"].matching_ratio) == "2.10"  # the newcomer checked the new settings


def test_a_team_change_on_a_returned_proposal_waits_for_a_submit_counting_that_person(administrator):
    """A proposal returned for correction still counts for the limits. Putting a person on it while
    a submit elsewhere counts that person's places waits for the submit (and the submit would wait
    for it); the same change on a draft, which does not count, does not wait."""
    from decimal import Decimal

    from proposals.models import ProposalUnit
    from proposals.services import return_for_correction, set_team_member

    call = open_call()
    shared = new_person_id()
    leads = [applicant_for(OrganizationFactory()) for _ in range(3)]
    held = complete_proposal(call, leads[0], team=[(shared, "共同成员")])
    returned = complete_proposal(call, leads[1])
    submit_proposal(actor=leads[1], proposal=returned)
    return_for_correction(actor=administrator, proposal=returned, reason="请补充团队成员")
    draft = complete_proposal(call, leads[2])

    def add_shared(proposal, lead, outcome):
        from django.db import connections

        try:
            unit = ProposalUnit.objects.get(proposal=proposal, role="lead")
            set_team_member(
                actor=lead, proposal=Proposal.objects.get(pk=proposal.pk), id_number=shared, name="共同成员",
                unit=unit, role="core", months_per_year=Decimal("3"),
            )  # fmt: skip
            outcome["done"] = True
        except Exception as exc:  # reported by the test
            outcome["error"] = repr(exc)
        finally:
            connections.close_all()

    holding, release = threading.Event(), threading.Event()
    holder = threading.Thread(target=_holding_submit_locks, args=(held, holding, release))
    on_draft, on_returned = {}, {}
    holder.start()
    try:
        assert holding.wait(10)
        draft_edit = threading.Thread(target=add_shared, args=(draft, leads[2], on_draft))
        draft_edit.start()
        draft_edit.join(5)
        assert on_draft == {"done": True}  # a draft does not count: no waiting
        returned_edit = threading.Thread(target=add_shared, args=(returned, leads[1], on_returned))
        returned_edit.start()
        returned_edit.join(0.5)
        assert returned_edit.is_alive() and not on_returned  # waits for the submit counting that person
    finally:
        release.set()
        holder.join(10)
        if "returned_edit" in locals():
            returned_edit.join(10)
    assert on_returned == {"done": True}, on_returned
    assert TeamMember.objects.filter(proposal=returned, person__id_number=shared).exists()
