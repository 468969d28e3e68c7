"""Editing a proposal's parts over the API (proposals/api_parts.py): units, team, target
commitments, milestones, budget and attachments — the same services, access rules and
audit entries as the editor's pages."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from audit.models import AuditEntry
from calls.models import Call, Target
from proposals import services
from proposals.choices import AttachmentKind, FundingSource, TeamRole, UnitRole
from proposals.models import (
    Attachment,
    BudgetLine,
    Milestone,
    Person,
    ProposalUnit,
    TargetCommitment,
    TeamMember,
)
from tests.factories import OrganizationFactory
from tests.factories_proposals import (
    PDF_BYTES,
    applicant_for,
    complete_proposal,
    content_counts,
    new_person_id,
    open_call,
    pdf_upload,
    person_id,
    person_name,
)

PARTS = ["units", "team", "commitments", "milestones", "budget", "attachments"]
# Who may read a draft's parts, and who may see the proposal at all.
READERS = {"lead_applicant", "member_applicant", "administrator", "supervisor"}
# May read but not change: 403. Everybody else: 404.
READ_ONLY = {"member_applicant", "administrator", "supervisor"}


def url(proposal, part, *rest):
    tail = "".join(f"{item}/" for item in rest)
    return f"/api/v1/proposals/{proposal.pk}/{part}/{tail}"


def entries(proposal, action):
    """The proposal's audit entries of this action, newest first."""
    return AuditEntry.objects.filter(action=f"proposal.{action}", object_id=str(proposal.pk))


def lead_unit(proposal):
    return proposal.units.get(role=UnitRole.LEAD)


def member_unit(proposal):
    return proposal.units.get(role=UnitRole.MEMBER)


def wrong_check_digit(id_number):
    last = "0" if id_number[-1] != "0" else "1"
    return id_number[:-1] + last


# One valid write per part, for the cast checks: (method, part, item or None, body, format).
def sample_writes(proposal):
    target = proposal.call.targets.first()
    category = proposal.call.programme.budget_categories[0]["code"]
    pi = proposal.team.get(role=TeamRole.PI)
    attachment = proposal.attachments.first()
    new_id = new_person_id()
    return [
        ("post", "units", None, {"credit_code": OrganizationFactory().credit_code}, "json"),
        ("patch", "units", member_unit(proposal).pk, {"task_share": "测试"}, "json"),
        ("delete", "units", member_unit(proposal).pk, None, "json"),
        (
            "post",
            "team",
            None,
            {
                "name": person_name(new_id),
                "id_number": new_id,
                "unit": lead_unit(proposal).pk,
                "role": "core",
                "months_per_year": "3",
            },
            "json",
        ),
        ("patch", "team", pi.pk, {"months_per_year": "6"}, "json"),
        ("delete", "team", pi.pk, None, "json"),
        ("put", "commitments", None, {"commitments": [{"target": target.pk, "value": "1"}]}, "json"),
        ("put", "milestones", None, {"milestones": [{"month": 3, "deliverable": "x", "verification": "y"}]}, "json"),
        ("put", "budget", None, {"lines": [{"source": "fiscal", "category": category, "amount": "1"}]}, "json"),
        ("post", "attachments", None, {"kind": "other", "file": pdf_upload()}, "multipart"),
        ("delete", "attachments", attachment.pk, None, "json"),
    ]


def send(client, proposal, method, part, item, body, fmt):
    target = url(proposal, part, item) if item else url(proposal, part)
    if body is None:
        return getattr(client, method)(target)
    return getattr(client, method)(target, body, format=fmt)


def audit_count(proposal):
    return AuditEntry.objects.filter(object_id=str(proposal.pk), action__startswith="proposal.").count()


# --- who may read, who may write ------------------------------------------------------------------------
@pytest.mark.django_db
def test_parts_are_read_by_whoever_sees_the_proposal(api, cast, draft):
    for part in PARTS:
        for name, user in cast.items():
            response = api(user).get(url(draft, part))
            assert response.status_code == (200 if name in READERS else 404), (part, name)
        assert api().get(url(draft, part)).status_code in (401, 403), part
        assert api(cast["administrator"]).get(f"/api/v1/proposals/999999/{part}/").status_code == 404
    body = api(cast["member_applicant"]).get(url(draft, "units")).json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert [u["role"] for u in body["results"]] == ["lead", "member"]


@pytest.mark.django_db
def test_nobody_but_the_lead_unit_changes_a_draft(api, cast, draft):
    before, logged = content_counts(draft), audit_count(draft)
    for method, part, item, body, fmt in sample_writes(draft):
        for name, user in cast.items():
            if name == "lead_applicant":
                continue
            if body is not None and "file" in body:
                body = {**body, "file": pdf_upload()}
            response = send(api(user), draft, method, part, item, body, fmt)
            expected = 403 if name in READ_ONLY else 404
            assert response.status_code == expected, (method, part, name, response.content)
        assert send(api(), draft, method, part, item, body, fmt).status_code in (401, 403)
    assert content_counts(draft) == before
    assert audit_count(draft) == logged


@pytest.mark.django_db
def test_a_submitted_proposal_refuses_edits_until_returned(api, administrator, draft, lead_applicant):
    services.submit_proposal(actor=lead_applicant, proposal=draft)
    before, logged = content_counts(draft), audit_count(draft)
    for method, part, item, body, fmt in sample_writes(draft):
        response = send(api(lead_applicant), draft, method, part, item, body, fmt)
        assert response.status_code == 403, (method, part)  # as PATCHing the basics
    assert content_counts(draft) == before and audit_count(draft) == logged
    # Returned for correction: editable again.
    services.return_for_correction(actor=administrator, proposal=draft, reason="补充材料")
    response = api(lead_applicant).patch(url(draft, "units", member_unit(draft).pk), {"task_share": "补充"})
    assert response.status_code == 200 and response.json()["task_share"] == "补充"


@pytest.mark.django_db
def test_after_the_deadline_a_draft_cannot_change(api, draft, lead_applicant):
    Call.objects.filter(pk=draft.call_id).update(deadline=timezone.now() - timedelta(minutes=1))
    response = api(lead_applicant).put(url(draft, "milestones"), {"milestones": []}, format="json")
    assert response.status_code == 400 and response.json()["non_field_errors"]
    assert draft.milestones.count() == 2


# --- consortium units -----------------------------------------------------------------------------------
@pytest.mark.django_db
def test_lead_adds_changes_and_removes_member_units(api, draft, lead_applicant):
    client = api(lead_applicant)
    by_code, by_id = OrganizationFactory(), OrganizationFactory()
    added = client.post(
        url(draft, "units"),
        {"credit_code": by_code.credit_code.lower(), "task_share": "中试", "budget_share": "12.50"},
        format="json",
    )
    assert added.status_code == 201, added.json()
    body = added.json()
    assert body["organization"] == by_code.pk and body["role"] == "member" and body["confirmed_at"] is None
    assert body["budget_share"] == "12.50" and body["task_share"] == "中试"
    assert entries(draft, "add_unit").first().after["organization"] == by_code.pk
    second = client.post(url(draft, "units"), {"organization": by_id.pk}, format="json")
    assert second.status_code == 201 and second.json()["credit_code"] == by_id.credit_code

    unit_id = body["id"]
    changed = client.patch(url(draft, "units", unit_id), {"budget_share": "20"}, format="json")
    assert changed.status_code == 200
    assert changed.json()["budget_share"] == "20.00" and changed.json()["task_share"] == "中试"  # kept
    assert ProposalUnit.objects.get(pk=unit_id).budget_share == Decimal("20.00")
    entry = entries(draft, "update_unit").get()
    assert entry.before["budget_share"] == "12.50" and entry.after["budget_share"] == "20.00"
    # The lead unit's shares are edited the same way.
    lead = client.patch(url(draft, "units", lead_unit(draft).pk), {"task_share": "总体设计"}, format="json")
    assert lead.status_code == 200 and lead.json()["role"] == "lead"

    assert client.delete(url(draft, "units", unit_id)).status_code == 204
    assert not ProposalUnit.objects.filter(pk=unit_id).exists()
    assert entries(draft, "remove_unit").get().before["organization"] == by_code.pk
    assert client.get(url(draft, "units", unit_id)).status_code == 404


@pytest.mark.django_db
def test_unit_validation(api, draft, lead_applicant, member_org, outsider_applicant):
    client = api(lead_applicant)
    neither = client.post(url(draft, "units"), {"task_share": "x"}, format="json")
    assert neither.status_code == 400 and list(neither.json()) == ["non_field_errors"]
    other = OrganizationFactory()
    both = client.post(url(draft, "units"), {"organization": other.pk, "credit_code": other.credit_code}, format="json")
    assert both.status_code == 400 and list(both.json()) == ["non_field_errors"]
    unknown = client.post(url(draft, "units"), {"credit_code": "91150100MA0000000X"}, format="json")
    assert unknown.status_code == 400 and list(unknown.json()) == ["credit_code"]
    twice = client.post(url(draft, "units"), {"organization": member_org.pk}, format="json")
    assert twice.status_code == 400 and list(twice.json()) == ["organization"]
    no_such = client.post(url(draft, "units"), {"organization": 999_999}, format="json")
    assert no_such.status_code == 400 and list(no_such.json()) == ["organization"]
    negative = client.patch(url(draft, "units", member_unit(draft).pk), {"budget_share": "-1"}, format="json")
    assert negative.status_code == 400 and list(negative.json()) == ["budget_share"]
    lead = client.delete(url(draft, "units", lead_unit(draft).pk))
    assert lead.status_code == 400 and lead.json()["non_field_errors"]
    assert draft.units.count() == 2 and entries(draft, "add_unit").count() == 1  # complete_proposal's member
    # A unit of somebody else's proposal is not found through this one.
    foreign = complete_proposal(open_call(), outsider_applicant)
    assert client.patch(url(draft, "units", lead_unit(foreign).pk), {"task_share": "x"}).status_code == 404
    assert client.delete(url(draft, "units", lead_unit(foreign).pk)).status_code == 404


@pytest.mark.django_db
def test_a_unit_added_over_the_api_confirms_with_the_existing_action(api, draft, lead_applicant):
    organization = OrganizationFactory()
    colleague = applicant_for(organization)
    unit_id = api(lead_applicant).post(url(draft, "units"), {"organization": organization.pk}).json()["id"]
    assert api(colleague).get(url(draft, "units", unit_id)).json()["confirmed_at"] is None
    assert api(colleague).post(f"/api/v1/proposals/{draft.pk}/confirm/").status_code == 200
    assert api(colleague).get(url(draft, "units", unit_id)).json()["confirmed_at"] is not None
    # Seeing the proposal is not changing it.
    assert api(colleague).patch(url(draft, "units", unit_id), {"task_share": "x"}).status_code == 403


# --- team -----------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_lead_adds_changes_and_removes_team_members(api, administrator, draft, lead_applicant):
    client = api(lead_applicant)
    id_number = new_person_id()
    row = {
        "name": person_name(id_number),
        "id_number": id_number,
        "unit": lead_unit(draft).pk,
        "role": "core",
        "months_per_year": "3.5",
        "title": "高级工程师",
        "duty": "系统集成",
    }
    added = client.post(url(draft, "team"), row, format="json")
    assert added.status_code == 201, added.json()
    body = added.json()
    assert body["name"] == row["name"] and body["months_per_year"] == "3.5" and body["role"] == "core"
    assert body["id_number"] != id_number and "*" in body["id_number"]  # masked in every answer
    assert id_number not in str(entries(draft, "set_member").first().after)
    assert entries(draft, "set_member").first().after["person"] == body["id_number"]

    # Posting the same person again updates the row instead of adding a second one.
    again = client.post(url(draft, "team"), {**row, "role": "member", "title": "工程师"}, format="json")
    assert again.status_code == 200 and again.json()["id"] == body["id"] and again.json()["title"] == "工程师"
    assert draft.team.count() == 2

    changed = client.patch(
        url(draft, "team", body["id"]), {"unit": member_unit(draft).pk, "months_per_year": "6"}, format="json"
    )
    assert changed.status_code == 200, changed.json()
    stored = TeamMember.objects.select_related("person").get(pk=body["id"])
    assert stored.unit == member_unit(draft) and stored.months_per_year == Decimal("6.0")
    assert stored.person.id_number == id_number and stored.title == "工程师" and stored.role == "member"
    assert entries(draft, "set_member").first().before["months_per_year"] == "3.5"

    listed = api(administrator).get(url(draft, "team")).json()["results"]
    assert id_number in [m["id_number"] for m in listed]  # administrators see full ID numbers

    assert client.delete(url(draft, "team", body["id"])).status_code == 204
    assert not TeamMember.objects.filter(pk=body["id"]).exists()
    assert entries(draft, "remove_member").get().before["person"] == body["id_number"]


@pytest.mark.django_db
def test_team_validation(api, draft, lead_applicant, outsider_applicant):
    client = api(lead_applicant)
    id_number = person_id(987_654)
    row = {
        "name": person_name(id_number),
        "id_number": id_number,
        "unit": lead_unit(draft).pk,
        "role": "core",
        "months_per_year": "4",
    }

    def refused(changes, method="post", member=None):
        target = url(draft, "team", member) if member else url(draft, "team")
        response = getattr(client, method)(target, {**row, **changes} if method == "post" else changes, format="json")
        assert response.status_code == 400, response.content
        return list(response.json())

    assert refused({"id_number": wrong_check_digit(id_number)}) == ["id_number"]
    assert refused({"id_number": id_number[:17]}) == ["id_number"]
    assert refused({"role": TeamRole.PI}) == ["role"]  # the proposal already has a PI
    assert refused({"role": "boss"}) == ["role"]
    assert refused({"months_per_year": "13"}) == ["months_per_year"]
    assert refused({"months_per_year": "0"}) == ["months_per_year"]
    foreign = complete_proposal(open_call(), outsider_applicant)
    assert refused({"unit": lead_unit(foreign).pk}) == ["unit"]
    pi = draft.team.get(role=TeamRole.PI)
    assert refused({"name": pi.person.name + "甲", "id_number": pi.person.id_number}) == ["name"]
    assert refused({"months_per_year": "12.5"}, method="patch", member=pi.pk) == ["months_per_year"]
    assert draft.team.count() == 1 and not Person.objects.filter(id_number=id_number).exists()
    assert client.patch(url(draft, "team", foreign.team.get().pk), {"title": "x"}).status_code == 404


# --- commitments, milestones, budget ----------------------------------------------------------------------
@pytest.mark.django_db
def test_commitments_are_saved_as_a_whole(api, draft, lead_applicant, outsider_applicant):
    client = api(lead_applicant)
    first, second = draft.call.targets.all()
    response = client.put(
        url(draft, "commitments"),
        {"commitments": [{"target": first.pk, "value": "350", "note": "新材料"}, {"target": second.pk, "value": "1"}]},
        format="json",
    )
    assert response.status_code == 200, response.json()
    rows = response.json()["commitments"]
    assert [(r["target"], r["value"], r["meets_target"]) for r in rows] == [
        (first.pk, "350.0000", True),
        (second.pk, "1.0000", False),
    ]
    assert entries(draft, "set_commitments").first().after == {
        str(first.pk): "350.0000",
        str(second.pk): "1.0000",
        "notes": {str(first.pk): "新材料", str(second.pk): ""},
    }
    listed = client.get(url(draft, "commitments")).json()
    assert listed["count"] == 2 and listed["results"][0]["note"] == "新材料"

    only_first = client.put(
        url(draft, "commitments"), {"commitments": [{"target": first.pk, "value": "400"}]}, format="json"
    )
    assert only_first.status_code == 200  # the other target now has no commitment
    assert list(TargetCommitment.objects.filter(proposal=draft).values_list("target_id", flat=True)) == [first.pk]

    foreign_target = complete_proposal(open_call(), outsider_applicant).call.targets.first()
    unknown = client.put(
        url(draft, "commitments"), {"commitments": [{"target": foreign_target.pk, "value": "1"}]}, format="json"
    )
    assert unknown.status_code == 400 and unknown.json()["non_field_errors"]
    twice = client.put(
        url(draft, "commitments"),
        {"commitments": [{"target": first.pk, "value": "1"}, {"target": first.pk, "value": "2"}]},
        format="json",
    )
    assert twice.status_code == 400 and list(twice.json()) == ["commitments"]
    bad = client.put(url(draft, "commitments"), {"commitments": [{"target": first.pk, "value": "abc"}]}, format="json")
    assert bad.status_code == 400 and "value" in bad.json()["commitments"]["0"]
    assert TargetCommitment.objects.get(proposal=draft).value == Decimal("400")


@pytest.mark.django_db
def test_milestones_are_saved_as_a_whole(api, draft, lead_applicant):
    client = api(lead_applicant)
    rows = [
        {"month": 30, "deliverable": "示范线", "verification": "现场验收"},
        {"month": 6, "deliverable": "方案", "verification": "专家论证"},
    ]
    response = client.put(url(draft, "milestones"), {"milestones": rows}, format="json")
    assert response.status_code == 200, response.json()
    assert [m["month"] for m in response.json()["milestones"]] == [6, 30]  # by month
    assert entries(draft, "set_milestones").first().after == {
        "rows": [[30, "示范线", "现场验收"], [6, "方案", "专家论证"]]
    }
    assert [m["deliverable"] for m in client.get(url(draft, "milestones")).json()["results"]] == ["方案", "示范线"]

    late = client.put(url(draft, "milestones"), {"milestones": [{**rows[0], "month": 37}]}, format="json")
    assert late.status_code == 400 and late.json()["non_field_errors"]  # beyond the call's 36 months
    zero = client.put(url(draft, "milestones"), {"milestones": [{**rows[0], "month": 0}]}, format="json")
    assert zero.status_code == 400 and "month" in zero.json()["milestones"]["0"]
    blank = client.put(url(draft, "milestones"), {"milestones": [{**rows[0], "deliverable": ""}]}, format="json")
    assert blank.status_code == 400 and "deliverable" in blank.json()["milestones"]["0"]
    form = client.put(url(draft, "milestones"), {"milestones": "x"}, format="multipart")
    assert form.status_code == 415
    assert Milestone.objects.filter(proposal=draft).count() == 2

    cleared = client.put(url(draft, "milestones"), {"milestones": []}, format="json")
    assert cleared.status_code == 200 and cleared.json() == {"milestones": []}
    assert not Milestone.objects.filter(proposal=draft).exists()


@pytest.mark.django_db
def test_budget_is_saved_as_a_whole(api, draft, lead_applicant):
    client = api(lead_applicant)
    equipment, operating = (c["code"] for c in draft.call.programme.budget_categories[:2])
    lines = [
        {"source": "fiscal", "category": equipment, "amount": "80"},
        {"source": "self", "category": equipment, "amount": "150.5"},
        {"source": "self", "category": operating, "amount": "30"},
        {"source": "other", "category": operating, "amount": "0"},  # zero cells are dropped
    ]
    response = client.put(url(draft, "budget"), {"lines": lines}, format="json")
    assert response.status_code == 200, response.json()
    saved = {(line["source"], line["category"]): line["amount"] for line in response.json()["lines"]}
    assert saved == {("fiscal", equipment): "80.00", ("self", equipment): "150.50", ("self", operating): "30.00"}
    assert entries(draft, "set_budget").first().after == {
        f"fiscal/{equipment}": "80.00",
        f"self/{equipment}": "150.50",
        f"self/{operating}": "30.00",
    }
    totals = client.get(f"/api/v1/proposals/{draft.pk}/").json()["budget_totals"]
    assert totals == {"fiscal": "80.00", "self": "180.50", "other": "0.00", "total": "260.50"}
    assert client.get(url(draft, "budget")).json()["count"] == 3

    unknown = client.put(url(draft, "budget"), {"lines": [{**lines[0], "category": "travel"}]}, format="json")
    assert unknown.status_code == 400 and unknown.json()["non_field_errors"]
    negative = client.put(url(draft, "budget"), {"lines": [{**lines[0], "amount": "-5"}]}, format="json")
    assert negative.status_code == 400 and "amount" in negative.json()["lines"]["0"]
    source = client.put(url(draft, "budget"), {"lines": [{**lines[0], "source": "bank"}]}, format="json")
    assert source.status_code == 400 and "source" in source.json()["lines"]["0"]
    twice = client.put(url(draft, "budget"), {"lines": [lines[0], {**lines[0], "amount": "1"}]}, format="json")
    assert twice.status_code == 400 and list(twice.json()) == ["lines"]
    assert BudgetLine.objects.filter(proposal=draft).count() == 3


# --- attachments ----------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_lead_uploads_and_removes_attachments(api, django_capture_on_commit_callbacks, draft, lead_applicant):
    client = api(lead_applicant)
    response = client.post(
        url(draft, "attachments"), {"kind": "other", "file": pdf_upload("../../说明 材料")}, format="multipart"
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["kind"] == "other" and body["original_name"] == "说明 材料.pdf" and body["size"] == len(PDF_BYTES)
    assert body["download_url"].endswith(f"/api/v1/proposals/{draft.pk}/attachments/{body['id']}/download/")
    stored = Attachment.objects.get(pk=body["id"])
    assert stored.uploaded_by == lead_applicant and ".." not in stored.file.name
    assert entries(draft, "add_attachment").first().after["sha256"] == stored.sha256
    assert client.get(url(draft, "attachments", body["id"])).json()["original_name"] == "说明 材料.pdf"

    download = client.get(body["download_url"])
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == PDF_BYTES

    name = stored.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(url(draft, "attachments", body["id"])).status_code == 204
    assert not Attachment.objects.filter(pk=body["id"]).exists()  # never submitted: gone
    assert not stored.file.storage.exists(name)
    assert entries(draft, "remove_attachment").get().before["name"] == "说明 材料.pdf"
    assert client.get(body["download_url"]).status_code == 404


@pytest.mark.django_db
def test_attachment_validation(api, draft, lead_applicant):
    client = api(lead_applicant)
    before = draft.attachments.count()
    fake = SimpleUploadedFile("report.pdf", b"PK\x03\x04 not really a pdf", content_type="application/pdf")
    not_pdf = client.post(url(draft, "attachments"), {"kind": "other", "file": fake}, format="multipart")
    assert not_pdf.status_code == 400 and list(not_pdf.json()) == ["file"]
    kind = client.post(url(draft, "attachments"), {"kind": "photo", "file": pdf_upload()}, format="multipart")
    assert kind.status_code == 400 and list(kind.json()) == ["kind"]
    missing = client.post(url(draft, "attachments"), {"kind": "other"}, format="multipart")
    assert missing.status_code == 400 and list(missing.json()) == ["file"]
    as_json = client.post(url(draft, "attachments"), {"kind": "other"}, format="json")
    assert as_json.status_code == 415
    assert draft.attachments.count() == before == entries(draft, "add_attachment").count()


@pytest.mark.django_db
def test_attachment_download_permissions(api, cast, draft, outsider_applicant):
    attachment = draft.attachments.get(kind=AttachmentKind.INTEGRITY_PLEDGE)
    download = url(draft, "attachments", attachment.pk, "download")
    for name, user in cast.items():
        response = api(user).get(download)
        if name in READERS:
            assert response.status_code == 200, name
            assert b"".join(response.streaming_content) == PDF_BYTES
        else:
            assert response.status_code == 404, name
    assert api().get(download).status_code in (401, 403)
    lead = api(cast["lead_applicant"])
    # Asked for as a PDF: the file; an error still answers in JSON.
    assert lead.get(download, HTTP_ACCEPT="application/pdf").status_code == 200
    missing = lead.get(url(draft, "attachments", 999_999, "download"), HTTP_ACCEPT="application/pdf")
    assert missing.status_code == 404 and missing["Content-Type"] == "application/json" and missing.json()["detail"]
    # Another proposal's attachment is not reachable through this one.
    foreign = complete_proposal(open_call(), outsider_applicant).attachments.first()
    assert lead.get(url(draft, "attachments", foreign.pk, "download")).status_code == 404
    assert api(outsider_applicant).get(url(draft, "attachments", attachment.pk, "download")).status_code == 404


@pytest.mark.django_db
def test_a_removed_attachment_stays_readable_for_its_submission(api, administrator, draft, lead_applicant):
    services.submit_proposal(actor=lead_applicant, proposal=draft)
    services.return_for_correction(actor=administrator, proposal=draft, reason="更换承诺书")
    attachment = draft.attachments.get(kind=AttachmentKind.INTEGRITY_PLEDGE)
    client = api(lead_applicant)
    assert client.delete(url(draft, "attachments", attachment.pk)).status_code == 204
    attachment.refresh_from_db()
    assert attachment.removed_at is not None  # kept: submission v1 refers to it
    assert attachment.pk not in [a["id"] for a in client.get(url(draft, "attachments")).json()["results"]]
    assert client.get(url(draft, "attachments", attachment.pk)).status_code == 404
    assert client.delete(url(draft, "attachments", attachment.pk)).status_code == 404
    response = api(administrator).get(url(draft, "attachments", attachment.pk, "download"))
    assert response.status_code == 200 and b"".join(response.streaming_content) == PDF_BYTES


# --- query budgets ----------------------------------------------------------------------------------------
def _fill(proposal, n, lead_user):
    """n rows of every part, written directly (the services are exercised above)."""
    lead = lead_unit(proposal)
    ProposalUnit.objects.bulk_create(
        ProposalUnit(proposal=proposal, organization=OrganizationFactory(), role=UnitRole.MEMBER) for _ in range(n)
    )
    people = Person.objects.bulk_create(
        Person(id_number=person_id(500_000 + i), name=person_name(person_id(500_000 + i))) for i in range(n)
    )
    TeamMember.objects.bulk_create(
        TeamMember(proposal=proposal, person=p, unit=lead, role=TeamRole.MEMBER, months_per_year=1) for p in people
    )
    targets = Target.objects.bulk_create(
        Target(call=proposal.call, order=i, name=f"指标{i}", value=Decimal(i)) for i in range(n)
    )
    TargetCommitment.objects.bulk_create(TargetCommitment(proposal=proposal, target=t, value=t.value) for t in targets)
    Milestone.objects.bulk_create(
        Milestone(proposal=proposal, month=1 + i % 36, deliverable=f"成果{i}", verification="验收") for i in range(n)
    )
    BudgetLine.objects.bulk_create(
        BudgetLine(proposal=proposal, source=FundingSource.FISCAL, category=f"c{i}", amount=1) for i in range(n)
    )
    Attachment.objects.bulk_create(
        Attachment(
            proposal=proposal,
            kind=AttachmentKind.OTHER,
            file=f"proposals/{proposal.pk}/{i}.pdf",
            original_name=f"{i}.pdf",
            size=1,
            sha256="0" * 64,
            uploaded_by=lead_user,
        )
        for i in range(n)
    )


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_part_lists_query_budget(api, django_assert_max_num_queries, administrator, call, lead_applicant, n):
    proposal, _created = services.start_proposal(actor=lead_applicant, call=call)
    _fill(proposal, n, lead_applicant)
    expected = {"units": n + 1, "team": n, "commitments": n, "milestones": n, "budget": n, "attachments": n}
    for user in (administrator, lead_applicant):
        client = api(user)
        for part in PARTS:
            with django_assert_max_num_queries(16):
                response = client.get(url(proposal, part))
            assert response.status_code == 200 and response.json()["count"] == expected[part], part
            assert len(response.json()["results"]) == min(expected[part], 20)


# Saving a part checks the permission on the proposal alone, then calls the service: each of these
# took about a dozen queries more when the check loaded the whole content (issue #9): 25 for the unit.
PART_WRITE_QUERIES = {"unit": 13, "member": 17, "milestones": 13, "attachment": 12}


@pytest.mark.django_db
@pytest.mark.parametrize("n", [5, 50])
def test_part_writes_query_budget(api, django_assert_max_num_queries, call, lead_applicant, n):
    proposal, _created = services.start_proposal(actor=lead_applicant, call=call)
    _fill(proposal, n, lead_applicant)
    client = api(lead_applicant)
    unit = proposal.units.filter(role=UnitRole.MEMBER).first()
    member = proposal.team.first()
    attachment = proposal.attachments.first()
    with django_assert_max_num_queries(PART_WRITE_QUERIES["unit"]):
        response = client.patch(url(proposal, "units", unit.pk), {"task_share": "材料测试"}, format="json")
    assert response.status_code == 200 and response.json()["task_share"] == "材料测试"
    with django_assert_max_num_queries(PART_WRITE_QUERIES["member"]):
        response = client.patch(url(proposal, "team", member.pk), {"duty": "测试"}, format="json")
    assert response.status_code == 200 and response.json()["duty"] == "测试"
    rows = [{"month": 6, "deliverable": "样机", "verification": "检测"}]
    with django_assert_max_num_queries(PART_WRITE_QUERIES["milestones"]):
        response = client.put(url(proposal, "milestones"), {"milestones": rows}, format="json")
    assert response.status_code == 200 and len(response.json()["milestones"]) == 1
    with django_assert_max_num_queries(PART_WRITE_QUERIES["attachment"]):
        response = client.delete(url(proposal, "attachments", attachment.pk))
    assert response.status_code == 204 and not proposal.attachments.filter(pk=attachment.pk).exists()
