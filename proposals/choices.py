from django.db import models
from django.utils.translation import gettext_lazy as _


class ProposalStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Submitted")
    RETURNED = "returned", _("Returned for correction")
    PASSED = "passed", _("Formal review passed")
    REJECTED = "rejected", _("Rejected in formal review")
    UNDER_REVIEW = "under_review", _("Under expert review")
    RANKED = "ranked", _("Ranked")
    RECOMMENDED = "recommended", _("Recommended for award")
    AWARDED = "awarded", _("Awarded")
    NOT_AWARDED = "not_awarded", _("Not awarded")
    WITHDRAWN = "withdrawn", _("Withdrawn")


# Proposals that count towards application limits (限项): everything that has
# been submitted and is still in the race.
ACTIVE_STATUSES = [
    ProposalStatus.SUBMITTED,
    ProposalStatus.RETURNED,
    ProposalStatus.PASSED,
    ProposalStatus.UNDER_REVIEW,
    ProposalStatus.RANKED,
    ProposalStatus.RECOMMENDED,
    ProposalStatus.AWARDED,
]
# The issuer sees a proposal to its call only once formal review has passed it.
ISSUER_VISIBLE_STATUSES = [
    ProposalStatus.PASSED,
    ProposalStatus.UNDER_REVIEW,
    ProposalStatus.RANKED,
    ProposalStatus.RECOMMENDED,
    ProposalStatus.AWARDED,
    ProposalStatus.NOT_AWARDED,
]
# The lead unit may change the content only in these states.
EDITABLE_STATUSES = [ProposalStatus.DRAFT, ProposalStatus.RETURNED]


class UnitRole(models.TextChoices):
    LEAD = "lead", _("Lead unit")
    MEMBER = "member", _("Member unit")


class FundingSource(models.TextChoices):
    FISCAL = "fiscal", _("Fiscal (财政)")
    SELF_RAISED = "self", _("Self-raised (自筹)")
    OTHER = "other", _("Other (其他)")


class AttachmentKind(models.TextChoices):
    INTEGRITY_PLEDGE = "integrity_pledge", _("Research integrity pledge (科研诚信承诺书)")
    CONSORTIUM_AGREEMENT = "consortium_agreement", _("Consortium agreement")
    MATCHING_FUNDS = "matching_funds", _("Matching-funds commitment")
    OTHER = "other", _("Other")


class TeamRole(models.TextChoices):
    PI = "pi", _("Principal investigator")
    CORE = "core", _("Core member")
    MEMBER = "member", _("Member")
