"""Public notice (公示) and objections (异议); result pages for applicants and issuers.

- The notice pages are public: the recommended awards only (units, PI, support mode, fiscal
  amount) — never other proposals' scores nor any expert.
- Logged-in users object on the notice page (reviews.decisions.submit_objection decides).
- Administrators handle objections, withdraw recommendations and finalise; supervisors read.
- Applicants see their own proposal's final score and rank, and issuers their call's ranking,
  once the notice has begun (reviews.visibility).
"""

import rules
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, F, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from accounts.forms import StyledFormMixin
from calls.access import get_call_for_user
from calls.choices import PUBLIC_STATUSES, CallStatus
from config.files import serve_private_file
from proposals.choices import ProposalStatus, TeamRole, UnitRole
from proposals.models import Proposal, ProposalUnit, TeamMember
from reviews import decisions
from reviews.access import get_call_for_draws, require_draw_reader
from reviews.models import Notice, Objection, ObjectionStatus, Recommendation, Result


def _can_manage(user) -> bool:
    return rules.has_perm("reviews.manage_draw", user)


def _report(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def recommendations_of(call):
    """The recommended awards with what the notice publishes, in four queries whatever their number."""
    return list(
        Recommendation.objects.filter(call=call)
        .select_related("proposal__lead_organization", "proposal__result")
        .prefetch_related(
            Prefetch(
                "proposal__units",
                queryset=ProposalUnit.objects.filter(role=UnitRole.MEMBER).select_related("organization"),
                to_attr="member_units",
            ),
            Prefetch(
                "proposal__team",
                queryset=TeamMember.objects.filter(role=TeamRole.PI).select_related("person"),
                to_attr="pis",
            ),
        )
        .order_by(F("proposal__result__rank").asc(nulls_last=True), "proposal_id")
    )


# --- public pages -------------------------------------------------------------------------------
@require_GET
def notice_list(request):
    notices = list(
        Notice.objects.filter(call__status__in=PUBLIC_STATUSES)
        .select_related("call__programme", "call__issuer")
        .annotate(awards=Count("call__recommendations", distinct=True))
        .order_by("-starts_on", "call__code")
    )
    current = [n for n in notices if n.call.status == CallStatus.IN_NOTICE and not n.finalised_at]
    finished = [n for n in notices if n not in current]
    return render(request, "reviews/notice/list.html", {"current": current, "finished": finished})


def _public_notice(code) -> Notice:
    notice = (
        Notice.objects.select_related("call__programme", "call__issuer")
        .filter(call__code=code, call__status__in=PUBLIC_STATUSES)
        .first()
    )
    if notice is None:
        raise Http404
    return notice


class ObjectionForm(StyledFormMixin, forms.Form):
    """Only parses the input: reviews.decisions.submit_objection decides what is accepted."""

    text = forms.CharField(
        label=gettext_lazy("objection and the facts it rests on"),
        required=False,
        max_length=5000,
        widget=forms.Textarea(attrs={"rows": 5}),
    )
    real_name = forms.CharField(label=gettext_lazy("your real name"), required=False, max_length=50)
    unit_name = forms.CharField(label=gettext_lazy("or the unit's name"), required=False, max_length=200)
    seal = forms.FileField(
        label=gettext_lazy("the unit's sealed letter (PDF)"),
        required=False,
        help_text=gettext_lazy("Sign with your real name, or name the unit and attach its sealed letter."),
    )
    proposal = forms.TypedChoiceField(label=gettext_lazy("concerns"), required=False, coerce=int, empty_value=None)

    def __init__(self, *args, recommendations=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proposal"].choices = [("", _("the notice as a whole"))] + [
            (r.proposal_id, r.proposal.lead_organization.name) for r in recommendations
        ]


def _notice_page(request, notice, *, form=None, status=200):
    call = notice.call
    recommendations = recommendations_of(call)
    accepting = call.status == CallStatus.IN_NOTICE and not notice.finalised_at
    if form is None and request.user.is_authenticated and accepting:
        form = ObjectionForm(recommendations=recommendations)
    return render(
        request,
        "reviews/notice/detail.html",
        {
            "notice": notice,
            "call": call,
            "recommendations": recommendations,
            "accepting": accepting,
            "form": form,
            "can_read_admin": rules.has_perm("reviews.view_draw", request.user),
        },
        status=status,
    )


@require_GET
def notice_detail(request, code):
    return _notice_page(request, _public_notice(code))


@login_required
@require_POST
def submit_objection(request, code):
    notice = _public_notice(code)
    recommendations = recommendations_of(notice.call)
    form = ObjectionForm(request.POST, request.FILES, recommendations=recommendations)
    if form.is_valid():
        data = form.cleaned_data
        proposal = next((r.proposal for r in recommendations if r.proposal_id == data["proposal"]), None)
        try:
            objection = decisions.submit_objection(
                actor=request.user,
                notice=notice,
                text=data["text"],
                real_name=data["real_name"],
                unit_name=data["unit_name"],
                seal=data["seal"] or None,
                proposal=proposal,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Your objection (no. %(id)d) has been received; its handling result will be recorded.")
                % {"id": objection.pk},
            )
            return redirect("reviews:notice", code=notice.call.code)
    return _notice_page(request, notice, form=form)


# --- notice administration ----------------------------------------------------------------------
class HandleForm(StyledFormMixin, forms.Form):
    decision = forms.ChoiceField(
        label=gettext_lazy("decision"),
        choices=[
            (ObjectionStatus.UPHELD, ObjectionStatus.UPHELD.label),
            (ObjectionStatus.DISMISSED, ObjectionStatus.DISMISSED.label),
        ],
    )
    result = forms.CharField(
        label=gettext_lazy("handling result"), max_length=5000, widget=forms.Textarea(attrs={"rows": 2})
    )


class WithdrawForm(StyledFormMixin, forms.Form):
    reason = forms.CharField(label=gettext_lazy("reason"), max_length=500)


@login_required
@require_GET
def notice_admin(request, code):
    call = get_call_for_draws(request.user, code)
    notice = Notice.objects.filter(call=call).select_related("published_by").first()
    objections = (
        list(notice.objections.select_related("submitted_by", "proposal__lead_organization", "handled_by"))
        if notice
        else []
    )
    recommendations = recommendations_of(call) if notice else []
    upheld = {o.proposal_id for o in objections if o.status == ObjectionStatus.UPHELD and o.proposal_id}
    for recommendation in recommendations:
        recommendation.upheld = recommendation.proposal_id in upheld
    in_notice = notice is not None and call.status == CallStatus.IN_NOTICE and not notice.finalised_at
    return render(
        request,
        "reviews/notice/admin.html",
        {
            "call": call,
            "notice": notice,
            "objections": objections,
            "open_count": sum(1 for o in objections if o.status == ObjectionStatus.OPEN),
            "recommendations": recommendations,
            "in_notice": in_notice,
            "can_manage": _can_manage(request.user),
            "handle_form": HandleForm(),
            "withdraw_form": WithdrawForm(),
        },
    )


def _objection_of(call, objection_id) -> Objection:
    return get_object_or_404(Objection.objects.select_related("notice"), pk=objection_id, notice__call=call)


@login_required
@require_POST
def handle_objection(request, code, objection_id):
    call = get_call_for_draws(request.user, code, write=True)
    objection = _objection_of(call, objection_id)
    form = HandleForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("reviews:notice_admin", code=call.code)
    try:
        decisions.handle_objection(
            actor=request.user,
            objection=objection,
            upheld=form.cleaned_data["decision"] == ObjectionStatus.UPHELD,
            result=form.cleaned_data["result"],
        )
    except ValidationError as exc:
        _report(request, exc)
    else:
        messages.success(request, _("Objection no. %(id)d: the handling result is recorded.") % {"id": objection.pk})
    return redirect("reviews:notice_admin", code=call.code)


@login_required
@require_POST
def withdraw(request, code, proposal_id):
    call = get_call_for_draws(request.user, code, write=True)
    proposal = get_object_or_404(Proposal, pk=proposal_id, call=call, recommendation__isnull=False)
    form = WithdrawForm(request.POST)
    try:
        if not form.is_valid():
            raise ValidationError(_("Give the reason (e.g. the upheld objection)."))
        decisions.withdraw_recommendation(actor=request.user, proposal=proposal, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        _report(request, exc)
    else:
        messages.success(request, _("“%(title)s” is no longer recommended.") % {"title": proposal.title})
    return redirect("reviews:notice_admin", code=call.code)


@login_required
@require_POST
def finalise(request, code):
    call = get_call_for_draws(request.user, code, write=True)
    try:
        outcome = decisions.finalise(actor=request.user, call=call)
    except ValidationError as exc:
        _report(request, exc)
    else:
        if outcome == "awarded":
            messages.success(request, _("Final: the recommended proposals are awarded (立项)."))
        else:
            messages.warning(request, _("Final: no proposal is left to award; the call has failed (流榜)."))
    return redirect("reviews:notice_admin", code=call.code)


@login_required
@require_GET
def seal(request, pk):
    """The objection's sealed letter: a private file, for administrators and supervisors only."""
    require_draw_reader(request.user)
    objection = get_object_or_404(Objection, pk=pk)
    return serve_private_file(
        objection.seal, filename=f"objection-{objection.pk}-seal.pdf", content_type="application/pdf"
    )


# --- results for applicants and issuers ---------------------------------------------------------
@login_required
@require_GET
def ranking(request, code):
    """The call's ranking (final scores, ranks, lead units — no expert data)."""
    call = get_call_for_user(request.user, code)
    if not rules.has_perm("reviews.view_ranking", request.user, call):
        raise PermissionDenied
    results = list(
        Result.objects.filter(proposal__call=call)
        .select_related("proposal__lead_organization")
        .order_by(F("rank").asc(nulls_last=True), "proposal_id")
    )
    return render(request, "reviews/notice/ranking.html", {"call": call, "results": results})


@login_required
@require_GET
def result(request, pk):
    """One proposal's final score and rank, for its lead and member units once the notice has begun."""
    proposal = (
        Proposal.objects.select_related("call__programme", "lead_organization")
        .prefetch_related("units")
        .filter(pk=pk)
        .first()
    )
    if proposal is None or not rules.has_perm("proposals.view_proposal", request.user, proposal):
        raise Http404
    visible = rules.has_perm("reviews.view_result", request.user, proposal)
    result = Result.objects.filter(proposal=proposal).first() if visible else None
    ranked = (
        Result.objects.filter(proposal__call_id=proposal.call_id).aggregate(
            n=Count("pk", filter=Q(rank__isnull=False))
        )["n"]
        if result
        else 0
    )
    return render(
        request,
        "reviews/notice/result.html",
        {
            "proposal": proposal,
            "call": proposal.call,
            "visible": visible,
            "has_notice": visible and Notice.objects.filter(call_id=proposal.call_id).exists(),
            "result": result,
            "ranked_count": ranked,
            "outcome": proposal.status
            in (ProposalStatus.RECOMMENDED, ProposalStatus.AWARDED, ProposalStatus.NOT_AWARDED),
        },
    )
