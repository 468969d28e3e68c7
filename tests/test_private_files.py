"""Private files in production: handed to nginx (X-Accel-Redirect) after the permission check,
or kept in an S3-compatible bucket (moto stands in for it) and streamed by Django."""

import runpy
from pathlib import Path
from types import SimpleNamespace

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.test import TestCase
from django.urls import reverse
from moto import mock_aws

from config.storage import is_local, private_storage
from exports import services as export_services
from exports.models import ExportJob, ExportStatus
from proposals import services
from proposals.models import Attachment
from tests.factories_proposals import PDF_BYTES, open_call, pdf_upload

pytestmark = pytest.mark.django_db
BUCKET = "jiebang-private-test"


SETTINGS_FILE = Path(__file__).resolve().parent.parent / "config" / "settings.py"


@pytest.fixture
def load_settings(monkeypatch):
    """Evaluate config/settings.py afresh under the given environment variables."""

    def load(**env):
        for name in ("PRIVATE_STORAGE", "PRIVATE_ACCEL_REDIRECT", "S3_BUCKET", "S3_ENDPOINT_URL"):
            monkeypatch.delenv(name, raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return SimpleNamespace(**runpy.run_path(str(SETTINGS_FILE)))

    return load


@pytest.fixture
def draft(lead_applicant):
    return services.start_proposal(actor=lead_applicant, call=open_call())[0]


def attach(draft, lead_applicant) -> Attachment:
    return services.add_attachment(actor=lead_applicant, proposal=draft, kind="other", upload=pdf_upload("计划.pdf"))


def download_url(attachment):
    return reverse("proposals:attachment", args=[attachment.proposal_id, attachment.pk])


# --- X-Accel-Redirect ---------------------------------------------------------------------------------
def test_nginx_sends_the_file_only_after_the_view_allowed_it(
    draft, lead_applicant, outsider_applicant, client_for, settings
):
    settings.PRIVATE_ACCEL_REDIRECT = "/_private/"
    attachment = attach(draft, lead_applicant)
    response = client_for(lead_applicant).get(download_url(attachment))
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/_private/{attachment.file.name}"
    assert response.content == b""  # nginx adds the bytes from its internal location
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == "inline; filename*=utf-8''%E8%AE%A1%E5%88%92.pdf"
    assert response["Cache-Control"] == "private, no-store"

    refused = client_for(outsider_applicant).get(download_url(attachment))
    assert refused.status_code == 404 and "X-Accel-Redirect" not in refused

    private_storage().delete(attachment.file.name)
    gone = client_for(lead_applicant).get(download_url(attachment))
    assert gone.status_code == 404 and "X-Accel-Redirect" not in gone


def test_without_the_setting_django_streams_the_bytes(draft, lead_applicant, client_for, settings):
    settings.PRIVATE_ACCEL_REDIRECT = ""
    attachment = attach(draft, lead_applicant)
    response = client_for(lead_applicant).get(download_url(attachment))
    assert "X-Accel-Redirect" not in response
    assert b"".join(response.streaming_content) == PDF_BYTES


def test_accel_prefix_must_be_a_slash_delimited_path(load_settings):
    with pytest.raises(ImproperlyConfigured, match="PRIVATE_ACCEL_REDIRECT"):
        load_settings(DEBUG="1", PRIVATE_ACCEL_REDIRECT="_private")
    assert load_settings(DEBUG="1", PRIVATE_ACCEL_REDIRECT="/_private/").PRIVATE_ACCEL_REDIRECT == "/_private/"


def test_s3_needs_a_bucket_and_selects_the_s3_backend(load_settings):
    with pytest.raises(ImproperlyConfigured, match="S3_BUCKET"):
        load_settings(DEBUG="1", PRIVATE_STORAGE="s3")
    loaded = load_settings(DEBUG="1", PRIVATE_STORAGE="s3", S3_BUCKET="b", S3_ENDPOINT_URL="http://minio:9000")
    private = loaded.STORAGES["private"]
    assert private["BACKEND"] == "storages.backends.s3.S3Storage"
    assert private["OPTIONS"]["bucket_name"] == "b" and private["OPTIONS"]["endpoint_url"] == "http://minio:9000"
    assert private["OPTIONS"]["default_acl"] is None  # objects are never public
    with pytest.raises(ImproperlyConfigured, match="PRIVATE_STORAGE"):
        load_settings(DEBUG="1", PRIVATE_STORAGE="ftp")


# --- S3-compatible bucket -----------------------------------------------------------------------------
@pytest.fixture
def bucket(settings, monkeypatch):
    """The private store as an S3 bucket: the setting, and the storage the file fields hold."""
    with mock_aws():
        boto3.client("s3", region_name="us-east-1").create_bucket(Bucket=BUCKET)
        settings.STORAGES = {
            **settings.STORAGES,
            "private": {
                "BACKEND": "storages.backends.s3.S3Storage",
                "OPTIONS": {"bucket_name": BUCKET, "region_name": "us-east-1", "location": "private"},
            },
        }
        s3 = storages["private"]
        # File fields took their storage when the models were defined: point them at the bucket too.
        for model in (Attachment, ExportJob):
            monkeypatch.setattr(model._meta.get_field("file"), "storage", s3)
        yield boto3.client("s3", region_name="us-east-1")


def keys(client) -> set[str]:
    return {item["Key"] for item in client.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_attachments_live_in_the_bucket_and_are_streamed_after_the_check(
    bucket, draft, lead_applicant, outsider_applicant, client_for, settings, tmp_path
):
    settings.PRIVATE_ACCEL_REDIRECT = "/_private/"  # ignored for objects in a bucket
    assert not is_local(private_storage())
    attachment = attach(draft, lead_applicant)
    assert keys(bucket) == {f"private/{attachment.file.name}"}
    assert not any((tmp_path / "private").rglob("*.pdf"))  # nothing on the local disk

    response = client_for(lead_applicant).get(download_url(attachment))
    assert response.status_code == 200 and "X-Accel-Redirect" not in response
    assert b"".join(response.streaming_content) == PDF_BYTES
    assert client_for(outsider_applicant).get(download_url(attachment)).status_code == 404


def test_an_export_is_uploaded_whole_and_downloaded_from_the_bucket(bucket, administrator, client_for):
    call = open_call()
    with TestCase.captureOnCommitCallbacks(execute=True):
        job = export_services.request_export(actor=administrator, kind="formal_review", params={"call": call.code})
    job.refresh_from_db()
    assert job.status == ExportStatus.DONE, job.error
    assert keys(bucket) == {f"private/{job.file.name}"}
    stored = bucket.get_object(Bucket=BUCKET, Key=f"private/{job.file.name}")["Body"].read()
    assert len(stored) == job.size and stored[:2] == b"PK"

    response = client_for(administrator).get(reverse("exports:download", args=[job.pk]))
    assert b"".join(response.streaming_content) == stored

    ExportJob.objects.filter(pk=job.pk).update(expires_at=job.finished_at)
    assert export_services.cleanup() == 1
    assert keys(bucket) == set()
