"""The frozen form of a proposal at submission: what formal review and experts read."""

import hashlib
import json

from django.core.serializers.json import DjangoJSONEncoder


def build_snapshot(proposal) -> dict:
    """Everything a reviewer needs; ID numbers masked (reviewers never see them)."""
    return {
        "proposal": proposal.pk,
        "call": proposal.call.code,
        "title": proposal.title,
        "summary": proposal.summary,
        "technical_route": proposal.technical_route,
        "risks": proposal.risks,
        "units": [
            {
                "organization": u.organization.name,
                "credit_code": u.organization.credit_code,
                "type": u.organization.org_type,
                "in_region": u.organization.in_region,
                "role": u.role,
                "task_share": u.task_share,
                "budget_share": u.budget_share,
            }
            for u in proposal.units.all()
        ],
        "team": [
            {
                "name": m.person.name,
                "id_number": m.person.masked_id,
                "unit": m.unit.organization.name,
                "role": m.role,
                "title": m.title,
                "duty": m.duty,
                "months_per_year": m.months_per_year,
            }
            for m in proposal.team.all()
        ],
        "commitments": [
            {"target": c.target.name, "required": str(c.target), "value": c.value, "note": c.note}
            for c in proposal.commitments.all()
        ],
        "milestones": [
            {"month": m.month, "deliverable": m.deliverable, "verification": m.verification}
            for m in proposal.milestones.all()
        ],
        "budget": [
            {"source": b.source, "category": b.category, "amount": b.amount} for b in proposal.budget_lines.all()
        ],
        "attachments": [
            {"id": a.pk, "kind": a.kind, "name": a.original_name, "size": a.size, "sha256": a.sha256}
            for a in proposal.attachments.all()
        ],
    }


def freeze(snapshot: dict) -> tuple[dict, str]:
    """The JSON-normalised snapshot and its SHA-256 (stable key order)."""
    text = json.dumps(snapshot, cls=DjangoJSONEncoder, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return json.loads(text), hashlib.sha256(text.encode()).hexdigest()
