"""Draw pages (随机抽取): administrators act, supervisors (纪检) read.

Every change goes through reviews.draw, reviews.routing or experts.avoidance;
these views only load, check who is asking, call the service and report.
"""

import rules
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from calls.choices import CallStatus, TechField
from calls.models import Call
from experts import avoidance
from experts.choices import ConflictStatus
from experts.models import Conflict, Expert
from proposals.models import Proposal
from reviews import draw as draw_service
from reviews.access import current_employers, get_call_for_draws, get_draw_for_user, require_draw_reader
from reviews.forms import CommitDrawForm, NoShowForm
from reviews.models import Draw, DrawStatus, Invitation, InvitationStatus
from reviews.routing import REVIEWABLE, reviewable_proposals, route_panel

# Calls listed on the draws index even before their first draw.
INDEX_STATUSES = [CallStatus.CLOSED, CallStatus.UNDER_REVIEW, CallStatus.IN_NOTICE]
CONFLICT_DECISIONS = {"confirm": True, "dismiss": False}


def _field_labels(codes) -> list[str]:
    labels = dict(TechField.choices)
    return [str(labels.get(code, code)) for code in codes]


def _report_key(call) -> str:
    return f"reviews.routing_report.{call.pk}"


def _invitation_counts() -> dict:
    def count(*statuses):
        return Count("invitations", filter=Q(invitations__status__in=statuses))

    return {
        "pending": count(InvitationStatus.PENDING),
        "accepted": count(InvitationStatus.ACCEPTED),
        "waiting": count(InvitationStatus.WAITING),
        "ended": count(InvitationStatus.DECLINED, InvitationStatus.NO_SHOW, InvitationStatus.CONFLICT),
    }


@login_required
@require_GET
def index(request):
    """Calls that are, or have been, at the draw stage."""
    require_draw_reader(request.user)
    has_draw = Exists(Draw.objects.filter(call=OuterRef("pk")))
    calls = (
        Call.objects.filter(Q(status__in=INDEX_STATUSES) | Q(has_draw))
        .select_related("programme")
        .annotate(
            draw_count=Count("draws", distinct=True),
            drawn_count=Count("draws", filter=Q(draws__status=DrawStatus.DRAWN), distinct=True),
            reviewable=Count("proposals", filter=Q(proposals__status__in=REVIEWABLE), distinct=True),
        )
        .order_by("status", "deadline", "code")
    )
    return render(request, "reviews/index.html", {"calls": calls})


def _call_page(request, call, form):
    draws = list(Draw.objects.filter(call=call).annotate(**_invitation_counts()).order_by("-committed_at", "-pk"))
    for draw in draws:
        draw.field_labels = _field_labels(draw.fields)
    user = request.user
    return render(
        request,
        "reviews/call_draws.html",
        {
            "call": call,
            "draws": draws,
            "any_drawn": any(d.status == DrawStatus.DRAWN for d in draws),
            "reviewable": reviewable_proposals(call).count(),
            "drawable": call.status in draw_service.DRAWABLE_CALL_STATUSES,
            "can_manage": rules.has_perm("reviews.manage_draw", user),
            "form": form,
            "report": request.session.pop(_report_key(call), None),
        },
    )


@login_required
@require_GET
def call_draws(request, code):
    call = get_call_for_draws(request.user, code)
    return _call_page(request, call, CommitDrawForm.for_call(call))


@login_required
@require_POST
def commit(request, code):
    call = get_call_for_draws(request.user, code, write=True)
    form = CommitDrawForm.for_call(call, request.POST)
    if form.is_valid():
        try:
            draw = draw_service.commit(actor=request.user, call=call, **form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                _("Draw #%(id)d committed. Publish the commitment before drawing: %(commitment)s")
                % {"id": draw.pk, "commitment": draw.commitment},
            )
            return redirect("reviews:call_draws", code=call.code)
    return _call_page(request, call, form)


@login_required
@require_POST
def perform(request, pk):
    require_draw_reader(request.user, write=True)
    draw = get_object_or_404(Draw.objects.select_related("call"), pk=pk)
    try:
        draw = draw_service.perform(actor=request.user, draw=draw)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("reviews:call_draws", code=draw.call.code)
    messages.success(
        request,
        _("Drawn from a pool of %(pool)d experts; the panel has been invited. The seed is now revealed.")
        % {"pool": len(draw.pool)},
    )
    return redirect("reviews:draw", pk=draw.pk)


def _session_report(report) -> dict:
    """The routing report with names resolved, small enough for the session (shown once)."""
    titles = dict(Proposal.objects.filter(pk__in=report.short).values_list("pk", "title"))
    invited = Invitation.objects.filter(pk__in=report.invited).select_related("expert", "draw").order_by("rank")
    return {
        "proposals": report.proposals,
        "created": report.created,
        "ended": report.ended,
        "short": [{"title": titles.get(pid, str(pid)), "missing": n} for pid, n in sorted(report.short.items())],
        "invited": [{"rank": i.rank, "name": i.expert.name, "draw": i.draw_id} for i in invited],
        "exhausted": bool(report.short) and not report.invited,
    }


@login_required
@require_POST
def route(request, code):
    call = get_call_for_draws(request.user, code, write=True)
    try:
        report = route_panel(actor=request.user, call=call)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("reviews:call_draws", code=call.code)
    request.session[_report_key(call)] = _session_report(report)
    messages.success(
        request,
        ngettext(
            "Routed %(count)d proposal to the panel.",
            "Routed %(count)d proposals to the panel.",
            report.proposals,
        )
        % {"count": report.proposals},
    )
    return redirect("reviews:call_draws", code=call.code)


def _ranking_rows(draw, invitations):
    """One row per ranked expert: rank, expert, employer, invitation and who replaced it (in order)."""
    experts = {e.pk: e for e in Expert.objects.filter(pk__in=draw.ranking).prefetch_related(current_employers())}
    by_expert = {i.expert_id: i for i in invitations}
    successor = {i.replaces_id: i for i in invitations if i.replaces_id}
    rows = []
    for position, expert_id in enumerate(draw.ranking, start=1):
        invitation = by_expert.get(expert_id)
        expert = experts.get(expert_id) or (invitation.expert if invitation else None)
        employments = getattr(expert, "current_employments", [])
        chain, current = [], invitation
        while current is not None and current.pk in successor and len(chain) < len(invitations):
            current = successor[current.pk]
            chain.append(current)
        rows.append(
            {
                "rank": position,
                "expert_id": expert_id,
                "expert": expert,
                "employer": employments[0].organization if employments else None,
                "invitation": invitation,
                "panel": position <= draw.panel_size,
                "replaced_by": chain,
                "open": invitation is not None
                and invitation.status in (InvitationStatus.PENDING, InvitationStatus.ACCEPTED),
            }
        )
    return rows


@login_required
@require_GET
def draw_detail(request, pk):
    draw = get_draw_for_user(request.user, pk)
    invitations = list(draw.invitations.all())
    drawn = draw.status == DrawStatus.DRAWN
    conflicts = (
        Conflict.objects.filter(proposal__call_id=draw.call_id, status=ConflictStatus.POTENTIAL)
        .select_related("expert", "proposal")
        .order_by("proposal__title", "expert__name", "pk")
    )
    return render(
        request,
        "reviews/draw_detail.html",
        {
            "draw": draw,
            "call": draw.call,
            "drawn": drawn,
            "field_labels": _field_labels(draw.fields),
            "rows": _ranking_rows(draw, invitations) if drawn else [],
            "problems": draw_service.verify(draw) if drawn else None,
            "conflicts": conflicts,
            "can_manage": rules.has_perm("reviews.manage_draw", request.user),
            "no_show_form": NoShowForm(),
        },
    )


@login_required
@require_POST
def no_show(request, pk, invitation_id):
    require_draw_reader(request.user, write=True)
    invitation = get_object_or_404(Invitation.objects.select_related("draw", "expert"), pk=invitation_id, draw_id=pk)
    form = NoShowForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for message in errors:
                messages.error(request, message)
        return redirect("reviews:draw", pk=pk)
    try:
        backup = draw_service.mark_no_show(
            actor=request.user, invitation=invitation, reason=form.cleaned_data["reason"]
        )
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("reviews:draw", pk=pk)
    done = _("%(name)s (rank %(rank)d) is recorded as a no-show.") % {
        "name": invitation.expert.name,
        "rank": invitation.rank,
    }
    if backup is None:
        messages.warning(
            request,
            done + " " + _("No backup is left in this draw: commit and make a new draw to bring in more experts."),
        )
    else:
        messages.success(
            request,
            done
            + " "
            + _("The next backup, %(name)s (rank %(rank)d), has been invited.")
            % {"name": backup.expert.name, "rank": backup.rank},
        )
    return redirect("reviews:draw", pk=pk)


@login_required
@require_POST
def decide_conflict(request, pk, conflict_id, decision):
    if decision not in CONFLICT_DECISIONS:
        raise Http404
    require_draw_reader(request.user, write=True)
    draw = get_object_or_404(Draw, pk=pk)
    conflict = get_object_or_404(
        Conflict.objects.select_related("expert", "proposal"),
        pk=conflict_id,
        proposal__call_id=draw.call_id,
        status=ConflictStatus.POTENTIAL,
    )
    confirm = CONFLICT_DECISIONS[decision]
    try:  # decided meanwhile by another administrator, or not a name-only conflict
        avoidance.decide(actor=request.user, conflict=conflict, confirm=confirm)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("reviews:draw", pk=pk)
    if confirm:
        message = _("Confirmed: %(expert)s will never be assigned “%(title)s”.")
    else:
        message = _("Dismissed: the name match of %(expert)s with “%(title)s” is not a conflict.")
    messages.success(request, message % {"expert": conflict.expert.name, "title": conflict.proposal.title})
    return redirect("reviews:draw", pk=pk)
