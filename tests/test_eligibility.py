"""The eligibility engine (proposals.eligibility) and submission (proposals.services).

Every rule in eligibility.RULES is shown passing and failing, driven by the
programme's (or the call's) settings: the proposal stays the same, a setting
changes, the result flips. Proposals are built through the services
(tests.factories_proposals); settings are changed with queryset updates, as an
administrator's edit would leave them.
"""

import hashlib
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import CreditStatus, OrganizationType
from audit.models import AuditEntry
from audit.services import verify_chain
from calls.choices import CallStatus
from calls.models import Call, Programme, Target
from proposals import eligibility, services
from proposals.choices import AttachmentKind, ProposalStatus, TeamRole, UnitRole
from proposals.models import Person, Proposal, Submission
from proposals.services import TransitionError
from proposals.validators import mask_id_number, validate_id_number
from tests.factories import OrganizationFactory, OutOfRegionOrganizationFactory
from tests.factories_calls import ProgrammeFactory
from tests.factories_proposals import (
    applicant_for,
    complete_proposal,
    content_counts,
    fresh,
    new_person_id,
    open_call,
    pdf_upload,
    person_id,
    person_name,
)

pytestmark = pytest.mark.django_db


# --- fixtures and helpers ---------------------------------------------------------------------------
@pytest.fixture
def programme(db):
    return ProgrammeFactory()


@pytest.fixture
def call(programme):
    return open_call(programme)


@pytest.fixture
def proposal(call, lead_applicant):
    return complete_proposal(call, lead_applicant)


def applicant(org=None, **org_fields):
    return applicant_for(org or OrganizationFactory(**org_fields))


def set_programme(programme, **fields):
    Programme.objects.filter(pk=programme.pk).update(**fields)


def set_call(call, **fields):
    Call.objects.filter(pk=call.pk).update(**fields)


def rule(proposal, code) -> dict:
    """The stored form (RuleResult.as_json) of one rule, evaluated now from the database."""
    results = {r["rule"]: r for r in services.check_eligibility(proposal, save=False)}
    return results[code]


def passes(proposal, code) -> bool:
    result = rule(proposal, code)
    assert result["rule"] == code
    assert result["ok"] is (not result["problems"])
    described = eligibility.describe(result)
    assert described["ok"] is result["ok"] and described["rule"] == code
    return result["ok"]


def fails(proposal, code, key) -> tuple[dict, str]:
    """Assert `code` fails with exactly one problem `key`; return its params and rendered message."""
    result = rule(proposal, code)
    assert result["rule"] == code
    assert result["ok"] is False
    assert [p["key"] for p in result["problems"]] == [key], result
    described = eligibility.describe(result)
    assert described["ok"] is False
    assert str(described["label"]) == str(eligibility.RULE_LABELS[code])
    assert len(described["messages"]) == 1
    return result["problems"][0]["params"], described["messages"][0]


def submit(proposal, actor):
    return services.submit_proposal(actor=actor, proposal=fresh(proposal))


TESTED_RULES = {
    "complete",
    "deadline",
    "fiscal_cap",
    "matching",
    "members_max",
    "members_confirmed",
    "in_region_share",
    "in_region_institute",
    "lead_type",
    "lead_in_region",
    "targets",
    "credit",
    "not_issuer",
    "limits",
}


def test_every_rule_of_the_engine_is_covered_here():
    assert {code for code, _check in eligibility.RULES} == TESTED_RULES
    assert set(eligibility.RULE_LABELS) == TESTED_RULES


def test_a_complete_proposal_passes_every_rule(proposal):
    results = services.check_eligibility(proposal)
    assert [r["rule"] for r in results] == [code for code, _check in eligibility.RULES]
    assert all(r["ok"] and r["problems"] == [] for r in results), results
    stored = Proposal.objects.get(pk=proposal.pk)
    assert stored.eligible is True and stored.eligibility == results


# --- complete ---------------------------------------------------------------------------------------
def _remove_kind(kind):
    def remove(proposal, actor):
        services.remove_attachment(actor=actor, attachment=proposal.attachments.get(kind=kind))

    return remove


BREAKERS = {
    "no_title": lambda p, a: Proposal.objects.filter(pk=p.pk).update(title="   "),
    "no_route": lambda p, a: services.update_basics(actor=a, proposal=p, technical_route=""),
    "no_pi": lambda p, a: services.remove_team_member(actor=a, member=p.team.get(role=TeamRole.PI)),
    "no_milestones": lambda p, a: services.set_milestones(actor=a, proposal=p, rows=[]),
    "no_budget": lambda p, a: services.set_budget(actor=a, proposal=p, amounts={}),
    AttachmentKind.INTEGRITY_PLEDGE: _remove_kind(AttachmentKind.INTEGRITY_PLEDGE),
    AttachmentKind.MATCHING_FUNDS: _remove_kind(AttachmentKind.MATCHING_FUNDS),
}


@pytest.mark.parametrize("missing", list(BREAKERS))
def test_complete_fails_for_each_missing_piece(proposal, lead_applicant, missing):
    assert passes(proposal, "complete")
    BREAKERS[missing](fresh(proposal), lead_applicant)
    if missing in AttachmentKind.values:
        params, message = fails(proposal, "complete", "missing_attachment")
        label = str(AttachmentKind(missing).label)
        assert params == {"kind": label}
        assert label in message
    else:
        params, _message = fails(proposal, "complete", missing)
        assert params == {}


def test_the_consortium_agreement_is_required_only_when_there_are_members(call, lead_applicant, member_org):
    alone = complete_proposal(call, lead_applicant)
    assert not alone.attachments.filter(kind=AttachmentKind.CONSORTIUM_AGREEMENT).exists()
    assert passes(alone, "complete")

    services.add_member_unit(actor=lead_applicant, proposal=alone, credit_code=member_org.credit_code)
    params, message = fails(alone, "complete", "missing_attachment")
    label = str(AttachmentKind.CONSORTIUM_AGREEMENT.label)
    assert params == {"kind": label} and label in message

    services.add_attachment(
        actor=lead_applicant, proposal=alone, kind=AttachmentKind.CONSORTIUM_AGREEMENT, upload=pdf_upload()
    )
    assert passes(alone, "complete")


# --- deadline ---------------------------------------------------------------------------------------
def test_deadline_passes_while_the_call_is_open(proposal):
    assert passes(proposal, "deadline")


def test_deadline_fails_once_the_deadline_has_passed(proposal, call):
    deadline = (timezone.now() - timedelta(hours=1)).replace(microsecond=0)
    set_call(call, deadline=deadline)
    params, message = fails(proposal, "deadline", "deadline_passed")
    shown = timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M")
    assert params == {"deadline": shown}
    assert shown in message


@pytest.mark.parametrize("status", [CallStatus.DRAFT, CallStatus.PENDING, CallStatus.CLOSED, CallStatus.WITHDRAWN])
def test_deadline_fails_when_the_call_is_not_published(proposal, call, status):
    set_call(call, status=status)
    params, _message = fails(proposal, "deadline", "call_not_open")
    assert params == {}
    set_call(call, status=CallStatus.PUBLISHED)
    assert passes(proposal, "deadline")


# --- fiscal cap -------------------------------------------------------------------------------------
def test_fiscal_request_at_the_cap_passes_and_above_it_fails(proposal, call):
    set_call(call, fiscal_cap=Decimal("100.00"))  # the proposal asks for exactly 100
    assert passes(proposal, "fiscal_cap")
    set_call(call, fiscal_cap=Decimal("99.99"))
    params, message = fails(proposal, "fiscal_cap", "over_cap")
    assert params == {"fiscal": "100.00", "cap": "99.99"}
    assert "100.00" in message and "99.99" in message


# --- matching funds ---------------------------------------------------------------------------------
def test_matching_exactly_at_the_ratio_passes_and_a_higher_ratio_fails(proposal, programme):
    assert programme.matching_ratio == Decimal("2.00")  # self 200 ÷ fiscal 100 = 2.00 exactly
    assert passes(proposal, "matching")
    set_programme(programme, matching_ratio=Decimal("2.50"))
    params, message = fails(proposal, "matching", "matching_low")
    assert params == {"self": "200.00", "fiscal": "100.00", "ratio": "2.00", "required": "2.50"}
    for number in ("200.00", "100.00", "2.00", "2.50"):
        assert number in message


def test_matching_below_the_ratio_fails(call, lead_applicant):
    proposal = complete_proposal(call, lead_applicant, fiscal=Decimal("100"), self_raised=Decimal("150"))
    params, message = fails(proposal, "matching", "matching_low")
    assert params == {"self": "150.00", "fiscal": "100.00", "ratio": "1.50", "required": "2.00"}
    assert "150.00" in message and "1.50" in message and "2.00" in message


def test_matching_just_below_the_ratio_shows_a_ratio_below_the_requirement(call, lead_applicant):
    proposal = complete_proposal(call, lead_applicant, fiscal=Decimal("100"), self_raised=Decimal("199.99"))
    params, _message = fails(proposal, "matching", "matching_low")
    assert Decimal(params["ratio"]) < Decimal(params["required"]), params


def test_matching_passes_without_a_fiscal_request(call, lead_applicant, programme):
    proposal = complete_proposal(call, lead_applicant, fiscal=Decimal("0"), self_raised=Decimal("50"))
    set_programme(programme, matching_ratio=Decimal("5.00"))
    assert passes(proposal, "matching")


# --- member units -----------------------------------------------------------------------------------
def test_members_max_none_means_unlimited_and_a_lower_limit_fails(call, lead_applicant, programme):
    members = [OrganizationFactory(org_type=OrganizationType.UNIVERSITY) for _ in range(3)]
    proposal = complete_proposal(call, lead_applicant, members=members)
    assert programme.max_member_units is None
    assert passes(proposal, "members_max")
    set_programme(programme, max_member_units=3)
    assert passes(proposal, "members_max")
    set_programme(programme, max_member_units=2)
    params, message = fails(proposal, "members_max", "too_many_members")
    assert params == {"count": 3, "max": 2}
    assert "3" in message and "2" in message


def test_members_confirmed_fails_until_the_member_unit_confirms(call, lead_applicant, member_org, member_applicant):
    proposal = complete_proposal(call, lead_applicant, members=[(member_org, member_applicant)], confirm_members=False)
    params, message = fails(proposal, "members_confirmed", "unconfirmed")
    assert params == {"units": member_org.name}
    assert member_org.name in message
    services.confirm_participation(actor=member_applicant, proposal=proposal)
    assert passes(proposal, "members_confirmed")


def test_in_region_share_exactly_at_the_threshold_passes(call, lead_applicant, programme):
    # lead + 2 in-region + 2 out-of-region members: 3 of 5 units = 60 %, the default threshold
    members = [OrganizationFactory(), OrganizationFactory(), OutOfRegionOrganizationFactory()]
    members.append(OutOfRegionOrganizationFactory())
    proposal = complete_proposal(call, lead_applicant, members=members)
    assert programme.min_in_region_share == Decimal("60.00")
    assert passes(proposal, "in_region_share")


def test_in_region_share_below_the_threshold_fails_and_a_lower_threshold_passes(call, lead_applicant, programme):
    proposal = complete_proposal(call, lead_applicant, members=[OutOfRegionOrganizationFactory()])  # 1 of 2 = 50 %
    params, message = fails(proposal, "in_region_share", "in_region_share_low")
    assert params == {"share": "50", "required": "60"}
    assert "50%" in message and "60%" in message
    set_programme(programme, min_in_region_share=Decimal("50.00"))
    assert passes(proposal, "in_region_share")


def test_an_in_region_override_counts_towards_the_share(call, lead_applicant):
    moved = OutOfRegionOrganizationFactory(in_region_override=True, in_region_override_reason="已迁入呼和浩特")
    proposal = complete_proposal(call, lead_applicant, members=[moved])
    assert passes(proposal, "in_region_share")


def test_in_region_share_just_below_the_threshold_shows_a_share_below_the_requirement(call, lead_applicant, programme):
    proposal = complete_proposal(
        call, lead_applicant, members=[OrganizationFactory(), OutOfRegionOrganizationFactory()]
    )
    set_programme(programme, min_in_region_share=Decimal("66.67"))
    params, _message = fails(proposal, "in_region_share", "in_region_share_low")
    assert params["share"] != params["required"], params


def test_in_region_institute_is_checked_only_when_the_programme_requires_it(call, lead_applicant, programme):
    proposal = complete_proposal(call, lead_applicant)  # an enterprise leads alone
    assert programme.in_region_institute_required is False
    assert passes(proposal, "in_region_institute")
    set_programme(programme, in_region_institute_required=True)
    params, _message = fails(proposal, "in_region_institute", "no_in_region_institute")
    assert params == {}


@pytest.mark.parametrize(
    "factory, org_type, counts",
    [
        (OrganizationFactory, OrganizationType.INSTITUTE, True),
        (OrganizationFactory, OrganizationType.UNIVERSITY, True),
        (OrganizationFactory, OrganizationType.NEW_RND, True),
        (OrganizationFactory, OrganizationType.ENTERPRISE, False),
        (OutOfRegionOrganizationFactory, OrganizationType.INSTITUTE, False),
        (OutOfRegionOrganizationFactory, OrganizationType.UNIVERSITY, False),
    ],
)
def test_in_region_institute_counts_only_in_region_research_units(
    call, lead_applicant, programme, factory, org_type, counts
):
    set_programme(programme, in_region_institute_required=True)
    proposal = complete_proposal(call, lead_applicant, members=[factory(org_type=org_type)])
    if counts:
        assert passes(proposal, "in_region_institute")
    else:
        fails(proposal, "in_region_institute", "no_in_region_institute")


# --- the lead unit ----------------------------------------------------------------------------------
def test_lead_type_follows_the_allowed_lead_types(proposal, programme):
    assert passes(proposal, "lead_type")  # default: every type may lead
    set_programme(programme, allowed_lead_types=[OrganizationType.UNIVERSITY, OrganizationType.INSTITUTE])
    params, message = fails(proposal, "lead_type", "lead_type_not_allowed")
    label = str(OrganizationType.ENTERPRISE.label)
    assert params == {"type": label}
    assert label in message
    set_programme(programme, allowed_lead_types=[OrganizationType.ENTERPRISE])
    assert passes(proposal, "lead_type")


def test_lead_in_region_follows_the_setting(call, programme):
    outside = applicant(OutOfRegionOrganizationFactory())
    proposal = complete_proposal(call, outside)
    assert programme.lead_must_be_in_region is True
    params, _message = fails(proposal, "lead_in_region", "lead_out_of_region")
    assert params == {}
    set_programme(programme, lead_must_be_in_region=False)
    assert passes(proposal, "lead_in_region")


def test_an_in_region_override_on_the_lead_counts(call, programme):
    moved = OutOfRegionOrganizationFactory(in_region_override=True, in_region_override_reason="总部已迁入区内")
    proposal = complete_proposal(call, applicant(moved))
    assert programme.lead_must_be_in_region is True
    assert passes(proposal, "lead_in_region")


# --- targets ----------------------------------------------------------------------------------------
def test_an_unanswered_target_fails(call, lead_applicant):
    proposal = complete_proposal(call, lead_applicant, commitments={"能量密度": Decimal("300")})
    params, message = fails(proposal, "targets", "target_unanswered")
    assert params == {"target": "循环寿命"}
    assert "循环寿命" in message
    targets = {t.name: t for t in call.targets.all()}
    services.set_commitments(
        actor=lead_applicant,
        proposal=proposal,
        values={targets["能量密度"].pk: (Decimal("300"), ""), targets["循环寿命"].pk: (Decimal("8000"), "")},
    )
    assert passes(proposal, "targets")


@pytest.mark.parametrize(
    "comparator, committed, target_ok, target_not_met, required",
    [
        (">=", "300", "300", "300.5", "≥ 300.5 Wh/kg"),
        ("<=", "5", "5", "4.99", "≤ 4.99 Wh/kg"),
        ("=", "220", "220", "221", "= 221 Wh/kg"),
    ],
)
def test_each_comparator_met_and_not_met(
    programme, lead_applicant, comparator, committed, target_ok, target_not_met, required
):
    call = open_call(
        programme, targets=[{"name": "指标甲", "comparator": comparator, "value": target_ok, "unit": "Wh/kg"}]
    )
    proposal = complete_proposal(call, lead_applicant, commitments={"指标甲": Decimal(committed)})
    assert passes(proposal, "targets")
    Target.objects.filter(call=call).update(value=Decimal(target_not_met))
    params, message = fails(proposal, "targets", "target_not_met")
    assert params == {"target": "指标甲", "value": committed, "required": required}
    assert "指标甲" in message and committed in message and target_not_met in message


# --- credit -----------------------------------------------------------------------------------------
def test_a_blacklisted_lead_unit_fails_credit(proposal, lead_org):
    assert passes(proposal, "credit")
    type(lead_org).objects.filter(pk=lead_org.pk).update(credit_status=CreditStatus.BLACKLISTED)
    params, message = fails(proposal, "credit", "unit_blacklisted")
    assert params == {"unit": lead_org.name} and lead_org.name in message


def test_a_blacklisted_member_unit_fails_credit(call, lead_applicant, member_org, member_applicant):
    proposal = complete_proposal(call, lead_applicant, members=[(member_org, member_applicant)])
    assert passes(proposal, "credit")
    type(member_org).objects.filter(pk=member_org.pk).update(credit_status=CreditStatus.BLACKLISTED)
    params, message = fails(proposal, "credit", "unit_blacklisted")
    assert params == {"unit": member_org.name} and member_org.name in message


def test_a_blacklisted_person_fails_credit(call, lead_applicant):
    core = new_person_id()
    proposal = complete_proposal(call, lead_applicant, team=[(core, "李四")])
    assert passes(proposal, "credit")
    Person.objects.filter(id_number=core).update(blacklisted=True, blacklist_reason="论文造假")
    params, message = fails(proposal, "credit", "person_blacklisted")
    assert params == {"person": "李四"} and "李四" in message


# --- application limits (限项) ----------------------------------------------------------------------
def test_a_pi_leading_an_active_proposal_in_the_programme_fails_the_limit(call, programme):
    pi = new_person_id()
    first_user, second_user = applicant(), applicant()
    first = complete_proposal(call, first_user, pi_id=pi)
    second = complete_proposal(call, second_user, pi_id=pi)
    assert passes(second, "limits")  # the first is still a draft
    submit(first, first_user)

    params, message = fails(second, "limits", "pi_limit")
    named = f"{call.code}《{first.title}》"
    assert params == {"person": person_name(pi), "count": 1, "limit": 1, "others": named}
    assert named in message and person_name(pi) in message

    set_programme(programme, pi_active_limit=2)
    assert passes(second, "limits")


def test_a_person_on_two_active_proposals_cannot_join_a_third(call, programme):
    core = new_person_id()
    users = [applicant() for _ in range(3)]
    proposals = [complete_proposal(call, user, team=[(core,)]) for user in users]
    for proposal, user in zip(proposals[:2], users[:2], strict=True):
        submit(proposal, user)

    params, message = fails(proposals[2], "limits", "person_limit")
    assert params["person"] == person_name(core)
    assert (params["count"], params["limit"]) == (2, 2)
    for earlier in proposals[:2]:
        assert f"{call.code}《{earlier.title}》" in params["others"]
        assert earlier.title in message

    set_programme(programme, person_proposal_limit=3)
    assert passes(proposals[2], "limits")


def _into_status(proposal, user, administrator, status):
    if status == ProposalStatus.DRAFT:
        return
    submit(proposal, user)
    if status == ProposalStatus.WITHDRAWN:
        services.withdraw_proposal(actor=user, proposal=fresh(proposal), reason="放弃申报")
    elif status == ProposalStatus.REJECTED:
        services.reject(actor=administrator, proposal=fresh(proposal), reason="不符合申报条件")
    elif status == ProposalStatus.RETURNED:
        services.return_for_correction(actor=administrator, proposal=fresh(proposal), reason="请补充材料")
    elif status == ProposalStatus.PASSED:
        services.pass_review(actor=administrator, proposal=fresh(proposal))
    assert fresh(proposal).status == status


@pytest.mark.parametrize(
    "status, counts",
    [
        (ProposalStatus.DRAFT, False),
        (ProposalStatus.WITHDRAWN, False),
        (ProposalStatus.REJECTED, False),
        (ProposalStatus.SUBMITTED, True),
        (ProposalStatus.RETURNED, True),
        (ProposalStatus.PASSED, True),
    ],
)
def test_only_active_proposals_count_towards_the_limits(call, administrator, status, counts):
    pi = new_person_id()
    other_user, user = applicant(), applicant()
    other = complete_proposal(call, other_user, pi_id=pi)
    _into_status(other, other_user, administrator, status)
    proposal = complete_proposal(call, user, pi_id=pi)
    if counts:
        params, _message = fails(proposal, "limits", "pi_limit")
        assert other.title in params["others"]
    else:
        assert passes(proposal, "limits")


def test_proposals_in_another_programme_do_not_count(call):
    pi = new_person_id()
    elsewhere_user, user = applicant(), applicant()
    elsewhere = complete_proposal(open_call(), elsewhere_user, pi_id=pi)
    submit(elsewhere, elsewhere_user)
    proposal = complete_proposal(call, user, pi_id=pi)
    assert passes(proposal, "limits")


# --- submission -------------------------------------------------------------------------------------
def test_submit_refuses_an_ineligible_proposal_and_keeps_the_draft(call, lead_applicant, member_org):
    proposal = complete_proposal(call, lead_applicant, members=[member_org], confirm_members=False)
    set_call(call, fiscal_cap=Decimal("50.00"))
    before = content_counts(proposal)
    audited = AuditEntry.objects.count()

    with pytest.raises(TransitionError) as refused:
        submit(proposal, lead_applicant)

    stored = fresh(proposal)
    assert stored.status == ProposalStatus.DRAFT and stored.submitted_at is None
    assert content_counts(stored) == before and before["submissions"] == 0
    assert AuditEntry.objects.count() == audited
    assert stored.eligible is False
    failed = {r["rule"]: r for r in stored.eligibility if not r["ok"]}
    assert set(failed) == {"fiscal_cap", "members_confirmed"}
    assert [r["rule"] for r in stored.eligibility] == [code for code, _check in eligibility.RULES]
    expected = [m for r in failed.values() for m in eligibility.describe(r)["messages"]]
    assert sorted(refused.value.messages) == sorted(expected)
    assert any(member_org.name in m for m in refused.value.messages)
    assert any("50.00" in m for m in refused.value.messages)


def test_submit_refuses_a_pi_over_the_limit_and_names_the_other_proposal(call):
    pi = new_person_id()
    first_user, second_user = applicant(), applicant()
    first = complete_proposal(call, first_user, pi_id=pi)
    second = complete_proposal(call, second_user, pi_id=pi)
    submit(first, first_user)
    before = content_counts(second)
    with pytest.raises(TransitionError) as refused:
        submit(second, second_user)
    assert any(first.title in m for m in refused.value.messages)
    stored = fresh(second)
    assert stored.status == ProposalStatus.DRAFT and content_counts(stored) == before
    assert stored.eligible is False
    assert [r["rule"] for r in stored.eligibility if not r["ok"]] == ["limits"]


def _sha256_of(snapshot: dict) -> str:
    text = json.dumps(snapshot, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_successful_submit_freezes_version_1_with_masked_id_numbers(call, lead_applicant, member_org):
    pi, core = new_person_id(), new_person_id()
    proposal = complete_proposal(
        call, lead_applicant, members=[member_org], pi_id=pi, team=[(core, "王五", member_org)]
    )

    submitted = submit(proposal, lead_applicant)

    assert submitted.status == ProposalStatus.SUBMITTED and submitted.eligible is True
    assert all(r["ok"] for r in submitted.eligibility)
    submission = Submission.objects.get(proposal=proposal)
    assert submission.version == 1 and submission.submitted_by == lead_applicant
    assert submission.submitted_at == submitted.submitted_at < call.deadline
    assert submission.sha256 == _sha256_of(submission.snapshot)
    text = json.dumps(submission.snapshot, ensure_ascii=False)
    assert pi not in text and core not in text
    assert {m["id_number"] for m in submission.snapshot["team"]} == {mask_id_number(pi), mask_id_number(core)}
    assert {u["role"] for u in submission.snapshot["units"]} == {UnitRole.LEAD, UnitRole.MEMBER}
    assert len(submission.snapshot["attachments"]) == 3
    entry = AuditEntry.objects.filter(action="proposal.submit", object_id=str(proposal.pk)).get()
    assert entry.after == {"status": "submitted", "version": 1, "sha256": submission.sha256}
    assert verify_chain().ok


def test_resubmission_after_return_creates_version_2(call, lead_applicant, administrator):
    proposal = complete_proposal(call, lead_applicant)
    submit(proposal, lead_applicant)
    first = Submission.objects.get(proposal=proposal)
    services.return_for_correction(actor=administrator, proposal=fresh(proposal), reason="请补充示范线选址说明")
    services.update_basics(actor=lead_applicant, proposal=fresh(proposal), technical_route="补充：示范线选址包头。")

    resubmitted = submit(proposal, lead_applicant)

    assert resubmitted.status == ProposalStatus.SUBMITTED and resubmitted.review_reason == ""
    versions = list(Submission.objects.filter(proposal=proposal).order_by("version"))
    assert [s.version for s in versions] == [1, 2]
    assert versions[0].sha256 == first.sha256 and versions[0].snapshot == first.snapshot
    assert versions[1].sha256 != first.sha256 and versions[1].sha256 == _sha256_of(versions[1].snapshot)
    assert versions[1].snapshot["technical_route"] == "补充：示范线选址包头。"
    assert resubmitted.submitted_at == versions[1].submitted_at


def test_a_submitted_proposal_cannot_be_submitted_twice(proposal, lead_applicant):
    submit(proposal, lead_applicant)
    with pytest.raises(TransitionError):
        submit(proposal, lead_applicant)
    assert Submission.objects.filter(proposal=proposal).count() == 1


# --- limit breaches found later -----------------------------------------------------------------------
def test_mark_limit_breaches_marks_every_proposal_involved(call, programme, administrator):
    pi = new_person_id()
    set_programme(programme, pi_active_limit=2)
    users = [applicant() for _ in range(3)]
    first = complete_proposal(call, users[0], pi_id=pi)
    second = complete_proposal(call, users[1], pi_id=pi)
    bystander = complete_proposal(call, users[2])
    for proposal, user in zip([first, second, bystander], users, strict=True):
        submit(proposal, user)
    set_programme(programme, pi_active_limit=1)  # the administrator tightens the rule afterwards

    marked = services.mark_limit_breaches(Programme.objects.get(pk=programme.pk), actor=administrator)

    assert marked == 2
    for proposal, other in ((first, second), (second, first)):
        stored = fresh(proposal)
        assert stored.eligible is False and stored.status == ProposalStatus.SUBMITTED
        limits = next(r for r in stored.eligibility if r["rule"] == "limits")
        assert limits["ok"] is False
        assert [p["key"] for p in limits["problems"]] == ["pi_limit"]
        assert other.title in limits["problems"][0]["params"]["others"]
        assert other.title in eligibility.describe(limits)["messages"][0]
    assert fresh(bystander).eligible is True
    entries = AuditEntry.objects.filter(action="proposal.eligibility")
    assert {e.object_id for e in entries} == {str(first.pk), str(second.pk)}
    assert {e.actor_id for e in entries} == {administrator.pk}
    assert verify_chain().ok


def test_mark_limit_breaches_finds_nothing_when_every_limit_holds(call, programme):
    users = [applicant() for _ in range(2)]
    for user in users:
        submit(complete_proposal(call, user), user)
    assert services.mark_limit_breaches(programme) == 0
    assert not AuditEntry.objects.filter(action="proposal.eligibility").exists()


def test_rechecking_after_the_deadline_keeps_an_on_time_proposal_eligible(proposal, lead_applicant, call):
    submit(proposal, lead_applicant)
    set_call(call, deadline=timezone.now() - timedelta(minutes=1))
    services.check_eligibility(fresh(proposal))
    assert fresh(proposal).eligible is True


def test_person_id_helper_makes_valid_distinct_numbers():
    numbers = {person_id(n) for n in range(0, 5000, 7)}
    assert len(numbers) == len(range(0, 5000, 7))
    for number in numbers:
        validate_id_number(number)
        assert len(number) == 18


# --- the issuer does not bid for its own call ------------------------------------------------------
def test_a_unit_that_issued_the_call_cannot_bid(call, lead_applicant):
    proposal = complete_proposal(call, lead_applicant)
    assert passes(proposal, "not_issuer")
    call.co_issuers.add(lead_applicant.organization)
    params, message = fails(fresh(proposal), "not_issuer", "unit_is_issuer")
    assert params["unit"] == lead_applicant.organization.name and lead_applicant.organization.name in message


def test_a_member_unit_that_issued_the_call_fails_too(call, lead_applicant, member_org):
    proposal = complete_proposal(call, lead_applicant, members=[member_org])
    Call.objects.filter(pk=call.pk).update(issuer=member_org)
    fails(fresh(proposal), "not_issuer", "unit_is_issuer")


# --- loading what the rules read -----------------------------------------------------------------------
REQUIRED_WITH_MEMBERS = [
    AttachmentKind.INTEGRITY_PLEDGE,
    AttachmentKind.MATCHING_FUNDS,
    AttachmentKind.CONSORTIUM_AGREEMENT,
]


def _frozen_with_page_content(proposal) -> tuple[dict, str]:
    from proposals.snapshot import build_snapshot, freeze

    return freeze(build_snapshot(Proposal.objects.with_content().get(pk=proposal.pk)))


def test_the_rules_read_the_same_content_as_the_pages(call, lead_applicant, member_org, programme):
    """The pages, the rules and the submit read one loader (Proposal.objects.with_content): the same
    results, and the submit freezes the snapshot a page would."""
    from proposals.snapshot import build_snapshot, freeze

    second_member = OrganizationFactory(org_type=OrganizationType.UNIVERSITY)
    proposal = complete_proposal(
        call,
        lead_applicant,
        members=[member_org, second_member],
        team=[(new_person_id(), "", second_member), (new_person_id(), "", member_org), (new_person_id(),)],
        attachments=[*REQUIRED_WITH_MEMBERS, AttachmentKind.OTHER],
    )
    page = Proposal.objects.with_content().get(pk=proposal.pk)
    loaded = eligibility.load_for_check(proposal.pk)
    assert [r.as_json() for r in eligibility.evaluate(loaded)] == [r.as_json() for r in eligibility.evaluate(page)]
    assert freeze(build_snapshot(loaded)) == freeze(build_snapshot(page))

    expected, digest = _frozen_with_page_content(proposal)
    submitted = submit(proposal, lead_applicant)
    submission = Submission.objects.get(proposal=proposal)
    assert submission.sha256 == digest and submission.snapshot == expected
    # The submit's proposal is what is stored, without reading it again.
    stored = fresh(proposal)
    for name in ("status", "submitted_at", "eligible", "eligibility", "review_reason"):
        assert getattr(submitted, name) == getattr(stored, name), name


@pytest.mark.parametrize("n", [1, 8])
def test_loading_for_the_check_costs_the_same_whatever_the_size(call, lead_applicant, django_assert_num_queries, n):
    members = [OrganizationFactory() for _ in range(n)]
    proposal = complete_proposal(
        call,
        lead_applicant,
        members=members,
        team=[(new_person_id(), "", org) for org in members],
        attachments=[*REQUIRED_WITH_MEMBERS] + [AttachmentKind.OTHER] * n,
    )
    # The proposal with its call and programme, then units, team, commitments with their targets,
    # milestones, budget lines, attachments, the call's targets and co-issuers.
    with django_assert_num_queries(9):
        loaded = eligibility.load_for_check(proposal.pk)
        results = eligibility.evaluate(loaded, skip=("limits",))  # the limits rule asks the database
    assert all(r.ok for r in results)


@pytest.mark.parametrize("n", [2, 6])
def test_recheck_loads_the_content_of_all_proposals_at_once(call, administrator, django_assert_max_num_queries, n):
    for _ in range(n):
        lead = applicant()
        submit(complete_proposal(call, lead), lead)
    # The content of all of them in 10 queries. Then each costs its application-limit query and, as the
    # stored results change (the deadline rule is no longer evaluated), their update: 3 queries in the
    # test's transaction (a savepoint around it). Loading each one's content apart cost 10 more each.
    with django_assert_max_num_queries(13 + 4 * n):
        checked, breaches = services.recheck_call(actor=administrator, call=call)
    assert (checked, breaches) == (n, 0)


# --- submit: the rules read the programme as locked ---------------------------------------------------
def test_a_resubmission_is_numbered_after_the_earlier_ones(proposal, lead_applicant, administrator):
    submit(proposal, lead_applicant)
    services.return_for_correction(actor=administrator, proposal=fresh(proposal), reason="补充材料")
    submit(proposal, lead_applicant)
    assert list(Submission.objects.filter(proposal=proposal).order_by("version").values_list("version", flat=True)) == [
        1,
        2,
    ]


def test_the_snapshot_lists_commitments_and_budget_lines_by_id(proposal):
    """Without an order of their own these rows came back in whatever order the database keeps them
    (on PostgreSQL: as written), so the frozen snapshot of the same content could differ. Here they
    are written highest id first: they must still come back by id."""
    for rows in (proposal.budget_lines, proposal.commitments):
        saved = list(rows.all())
        model, top = type(saved[0]), max(r.pk for r in saved) + 100
        rows.all().delete()
        for offset, row in enumerate(saved):
            row.pk = top - offset  # inserted in falling id order
            row.save(force_insert=True)
        assert len(saved) > 1 and model.objects.filter(proposal=proposal).count() == len(saved)
    loaded = eligibility.load_for_check(proposal.pk)
    assert [b.pk for b in loaded.budget_lines.all()] == sorted(b.pk for b in loaded.budget_lines.all())
    assert [c.pk for c in loaded.commitments.all()] == sorted(c.pk for c in loaded.commitments.all())
