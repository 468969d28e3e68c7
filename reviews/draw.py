"""The verifiable random draw and the replacement order.

Rule version draw-v1, which anyone can recompute:
  commitment = SHA-256(seed as ASCII hex)
  pool_hash  = SHA-256(canonical JSON {"call", "fields", "rule", "experts": sorted ids})
  ranking    = pool ids sorted by HMAC-SHA256(key=seed bytes, msg=str(expert id)) as hex
  panel      = ranking[:k]; backups = ranking[k:k+b], invited in that order when needed.
"""

import hashlib
import hmac
import json
import secrets
from datetime import timedelta

import rules
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from audit.services import record
from calls.choices import CallStatus
from experts.models import Expert
from reviews.models import Draw, DrawStatus, Invitation, InvitationStatus

RULE_VERSION = "draw-v1"
DRAWABLE_CALL_STATUSES = [CallStatus.CLOSED, CallStatus.UNDER_REVIEW]
DEFAULT_RESPONSE_DAYS = 3


def commitment_of(seed: str) -> str:
    return hashlib.sha256(seed.encode("ascii")).hexdigest()


def pool_hash_of(call_code: str, fields: list[str], rule_version: str, expert_ids: list[int]) -> str:
    canonical = json.dumps(
        {"call": call_code, "fields": sorted(fields), "rule": rule_version, "experts": sorted(expert_ids)},
        separators=(",", ":"),
        sort_keys=True,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def rank(seed: str, expert_ids: list[int]) -> list[int]:
    key = bytes.fromhex(seed)
    return sorted(expert_ids, key=lambda i: hmac.new(key, str(i).encode(), hashlib.sha256).hexdigest())


def eligible_pool(call, fields: list[str]) -> list[int]:
    """Active experts of the fields, under their yearly cap, not linked to the call's issuers, and
    never an administrator's or supervisor's account (who organises or supervises the review does
    not score in it, whatever role the account was given after it became an expert's)."""
    year = timezone.localdate().year
    issuers = {call.issuer_id, *(o.pk for o in call.co_issuers.all())}
    busy = dict(
        Invitation.objects.filter(status=InvitationStatus.ACCEPTED, responded_at__year=year)
        .values("expert_id")
        .annotate(n=Count("pk"))
        .values_list("expert_id", "n")
    )
    # Experts already drawn for this call are not drawn again ("draw more" brings new people).
    already = set(Invitation.objects.filter(draw__call=call).values_list("expert_id", flat=True))
    pool = []
    candidates = Expert.objects.filter(active=True).exclude(pk__in=already).exclude(User.overseers("user__"))
    for expert in candidates.prefetch_related("employments"):
        if not set(expert.fields) & set(fields):
            continue
        if busy.get(expert.pk, 0) >= expert.yearly_cap:
            continue
        if expert.employers_within() & issuers:
            continue
        pool.append(expert.pk)
    return sorted(pool)


def _require_admin(actor):
    if not rules.has_perm("reviews.manage_draw", actor):
        raise PermissionDenied


def commit(*, actor, call, panel_size: int, backups: int, fields: list[str] | None = None) -> Draw:
    """Step 1: fix the parameters and publish the hash of a fresh secret seed."""
    _require_admin(actor)
    if call.status not in DRAWABLE_CALL_STATUSES:
        raise ValidationError(_("Experts are drawn after the call has closed."))
    if panel_size < 1 or backups < 0:
        raise ValidationError(_("The panel needs at least one expert."))
    seed = secrets.token_hex(32)
    with transaction.atomic():
        draw = Draw.objects.create(
            call=call,
            fields=sorted(fields or [call.field]),
            panel_size=panel_size,
            backups=backups,
            rule_version=RULE_VERSION,
            commitment=commitment_of(seed),
            seed=seed,
            created_by=actor,
        )
        record(
            actor=actor,
            action="draw.commit",
            obj=draw,
            after={
                "commitment": draw.commitment,
                "panel_size": panel_size,
                "backups": backups,
                "fields": draw.fields,
                "rule": RULE_VERSION,
            },
        )
    return draw


def perform(*, actor, draw: Draw, respond_days: int = DEFAULT_RESPONSE_DAYS) -> Draw:
    """Step 2: freeze the pool, rank it, reveal the seed, invite the panel."""
    _require_admin(actor)
    with transaction.atomic():
        draw = Draw.objects.select_for_update(of=("self",)).select_related("call").get(pk=draw.pk)
        if draw.status != DrawStatus.COMMITTED:
            raise ValidationError(_("This draw has already been made."))
        pool = eligible_pool(draw.call, draw.fields)
        if len(pool) < draw.panel_size:
            raise ValidationError(
                _(
                    "Not enough experts: the panel needs %(needed)d, but only %(available)d are eligible "
                    "(active, in the field, under their yearly cap, not linked to the issuer)."
                )
                % {"needed": draw.panel_size, "available": len(pool)}
            )
        ranking = rank(draw.seed, pool)
        now = timezone.now()
        draw.pool, draw.ranking = pool, ranking
        draw.pool_hash = pool_hash_of(draw.call.code, draw.fields, draw.rule_version, pool)
        draw.status, draw.drawn_at = DrawStatus.DRAWN, now
        draw.save()
        places = ranking[: draw.panel_size + draw.backups]
        Invitation.objects.bulk_create(
            [
                Invitation(
                    draw=draw,
                    expert_id=expert_id,
                    rank=position,
                    status=InvitationStatus.PENDING if position <= draw.panel_size else InvitationStatus.WAITING,
                    invited_at=now if position <= draw.panel_size else None,
                    respond_by=now + timedelta(days=respond_days) if position <= draw.panel_size else None,
                )
                for position, expert_id in enumerate(places, start=1)
            ]
        )
        record(
            actor=actor,
            action="draw.perform",
            obj=draw,
            after={
                "seed": draw.seed,
                "pool_hash": draw.pool_hash,
                "pool_size": len(pool),
                "panel": ranking[: draw.panel_size],
                "backups": ranking[draw.panel_size : len(places)],
            },
        )
        _notify_invited(draw.invitations.filter(status=InvitationStatus.PENDING).values_list("pk", flat=True))
    return draw


def verify(draw: Draw) -> list[str]:
    """Recompute the draw from what is stored; an empty list means it checks out."""
    problems = []
    if draw.status != DrawStatus.DRAWN:
        return [_("The draw has not been made yet.")]
    if commitment_of(draw.seed) != draw.commitment:
        problems.append(_("commitment: SHA-256(seed) differs from the published commitment"))
    if pool_hash_of(draw.call.code, draw.fields, draw.rule_version, draw.pool) != draw.pool_hash:
        problems.append(_("pool_hash: the stored pool does not hash to the recorded value"))
    expected = rank(draw.seed, draw.pool)
    if expected != draw.ranking:
        problems.append(_("ranking: HMAC ranking of the pool differs from the stored ranking"))
    for invitation in draw.invitations.all():
        if invitation.rank > len(expected) or expected[invitation.rank - 1] != invitation.expert_id:
            problems.append(
                _("invitation rank %(rank)d: expert %(expert)d is not at that place")
                % {"rank": invitation.rank, "expert": invitation.expert_id}
            )
    panel = [i for i in draw.invitations.all() if i.replaces_id is None and i.rank <= draw.panel_size]
    if len(panel) != min(draw.panel_size, len(expected)):
        problems.append(_("panel: the first k places were not all invited"))
    return problems


def _notify_invited(invitation_ids) -> None:
    from reviews.tasks import send_invitations

    ids = list(invitation_ids)
    if ids:
        transaction.on_commit(lambda: send_invitations.delay(ids))


def invite_next_backup(*, draw: Draw, replaces: Invitation | None = None, actor=None) -> Invitation | None:
    """The next waiting backup in rank order is invited — never a redraw. None if none is left."""
    with transaction.atomic():
        nxt = (
            Invitation.objects.select_for_update()
            .filter(draw=draw, status=InvitationStatus.WAITING)
            .order_by("rank")
            .first()
        )
        if nxt is None:
            return None
        now = timezone.now()
        nxt.status, nxt.invited_at = InvitationStatus.PENDING, now
        nxt.respond_by = now + timedelta(days=DEFAULT_RESPONSE_DAYS)
        nxt.replaces = replaces
        nxt.save()
        record(
            actor=actor,
            action="invitation.invite_backup",
            obj=nxt,
            after={"rank": nxt.rank, "expert": nxt.expert_id, "replaces": replaces.pk if replaces else None},
        )
        _notify_invited([nxt.pk])
    return nxt


def _close(invitation: Invitation, status: str, *, actor, reason: str) -> Invitation | None:
    """End an invitation (declined, no-show, conflict) and bring in the next backup."""
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status not in (InvitationStatus.PENDING, InvitationStatus.ACCEPTED):
            raise ValidationError(_("This invitation is no longer open."))
        before = invitation.status
        invitation.status, invitation.reason = status, reason
        invitation.responded_at = invitation.responded_at or timezone.now()
        invitation.save()
        if status == InvitationStatus.NO_SHOW:
            Expert.objects.filter(pk=invitation.expert_id).update(no_show_count=F("no_show_count") + 1)
        record(
            actor=actor,
            action=f"invitation.{status}",
            obj=invitation,
            before={"status": before},
            after={"status": status},
            reason=reason,
        )
        # Their assignments end with the invitation.
        from reviews.models import Assignment

        Assignment.objects.filter(invitation=invitation, active=True).update(active=False)
        return invite_next_backup(draw=invitation.draw, replaces=invitation, actor=actor)


def respond(*, actor, invitation: Invitation, accept: bool, reason: str = "") -> Invitation:
    """The invited expert accepts or declines (a reason is required to decline)."""
    if invitation.expert.user_id != actor.pk:
        raise PermissionDenied
    reason = (reason or "").strip()
    if invitation.status != InvitationStatus.PENDING:
        raise ValidationError(_("This invitation is no longer open."))
    if invitation.respond_by and timezone.now() > invitation.respond_by:
        raise ValidationError(_("The time to answer this invitation has passed."))
    if not accept:
        if not reason:
            raise ValidationError({"reason": [_("Please say why you decline.")]})
        _close(invitation, InvitationStatus.DECLINED, actor=actor, reason=reason)
        invitation.refresh_from_db()
        return invitation
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.status != InvitationStatus.PENDING:  # closed meanwhile (e.g. marked no-show)
            raise ValidationError(_("This invitation is no longer open."))
        invitation.status, invitation.responded_at = InvitationStatus.ACCEPTED, timezone.now()
        invitation.save()
        record(
            actor=actor,
            action="invitation.accept",
            obj=invitation,
            before={"status": "pending"},
            after={"status": "accepted"},
        )
    return invitation


def mark_no_show(*, actor, invitation: Invitation, reason: str = "") -> Invitation | None:
    _require_admin(actor)
    return _close(invitation, InvitationStatus.NO_SHOW, actor=actor, reason=reason or _("No answer or absent"))


def withdraw_for_conflict(*, actor, invitation: Invitation, reason: str) -> Invitation | None:
    """A late conflict that concerns the whole call (e.g. a new employer): next backup in.
    By the expert itself or an administrator."""
    if invitation.expert.user_id != getattr(actor, "pk", None) and not rules.has_perm("reviews.manage_draw", actor):
        raise PermissionDenied
    return _close(invitation, InvitationStatus.CONFLICT, actor=actor, reason=reason)
