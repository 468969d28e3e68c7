"""E-mail to the lead unit on submit, return and formal-review result."""

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

SUBJECTS = {
    "submitted": "【揭榜挂帅】揭榜方案已提交：{title}",
    "returned": "【揭榜挂帅】揭榜方案被退回修改：{title}",
    "passed": "【揭榜挂帅】揭榜方案通过形式审查：{title}",
    "rejected": "【揭榜挂帅】揭榜方案未通过形式审查：{title}",
    "recommended": "【揭榜挂帅】揭榜方案拟立项并进入公示：{title}",
    "awarded": "【揭榜挂帅】揭榜方案已立项：{title}",
    "not_awarded": "【揭榜挂帅】揭榜方案评审结果：{title}",
}


def recipients(proposal) -> list[str]:
    from accounts.models import User

    emails = set(
        User.objects.filter(organization_id=proposal.lead_organization_id, is_applicant=True, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    if proposal.created_by.email:
        emails.add(proposal.created_by.email)
    return sorted(emails)


def send_proposal_mail(proposal_id: int, event: str) -> int:
    """Send one message per event; returns the number of recipients."""
    from proposals.models import Proposal

    proposal = Proposal.objects.select_related("call", "lead_organization", "created_by").get(pk=proposal_id)
    to = recipients(proposal)
    if not to:
        return 0
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string("proposals/email/status.txt", {"proposal": proposal, "event": event})
    send_mail(SUBJECTS[event].format(title=proposal.title), body, settings.DEFAULT_FROM_EMAIL, to)
    return len(to)
