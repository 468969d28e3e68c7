"""`manage.py backup` / `restore` (make backup / make restore): out, wiped, back again, and tampering refused.

Each test runs against a separate installation of its own: a fresh database (PostgreSQL:
a new database beside pytest's test database; SQLite: a file) and its own private and
media folders, seeded through the proposal factories in a subprocess, the way an
operator's shell would see it. The commands themselves also run as subprocesses.
"""

import copy
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import uuid
from pathlib import Path

import pytest
from django.db import connection

from tests import services as test_services
from tests.conftest import ROOT, _database_url_for_worker

PROGRAM = r"""
import hashlib, json, sys
import django
django.setup()

if sys.argv[1] == "seed":
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from proposals import services
    from proposals.choices import AttachmentKind
    from tests.factories import OrganizationFactory
    from tests.factories_proposals import PDF_BYTES, applicant_for, complete_proposal, open_call

    call = open_call()
    for n in range(3):
        lead = applicant_for(OrganizationFactory())
        proposal = complete_proposal(call, lead, members=[OrganizationFactory()] if n == 0 else ())
        extra = SimpleUploadedFile(f"附件{n}.pdf", PDF_BYTES + f"%% proposal {n}\n".encode(), "application/pdf")
        services.add_attachment(actor=lead, proposal=proposal, kind=AttachmentKind.OTHER, upload=extra)

from audit.models import AuditEntry
from audit.services import verify_chain
from proposals.models import Attachment, Proposal

def content(attachment):
    with attachment.file.open("rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()

print(json.dumps({
    "proposals": [
        [p.pk, p.title, p.status, p.call.code, p.units.count(), p.team.count(), p.budget_lines.count()]
        for p in Proposal.objects.select_related("call").order_by("pk")
    ],
    "attachments": [
        [a.pk, a.proposal_id, a.kind, a.file.name, a.sha256, content(a)] for a in Attachment.objects.order_by("pk")
    ],
    "audit": [verify_chain().ok, list(AuditEntry.objects.order_by("seq").values_list("action", flat=True))],
}, ensure_ascii=False))
"""


class Site:
    """One installation: a database URL and two file stores under `root`."""

    def __init__(self, root: Path, database_url: str, engine: str, name: str):
        self.root, self.url, self.engine, self.name = root, database_url, engine, name
        self.private, self.media, self.backups = root / "private", root / "media", root / "backups"

    def env(self, settings_module: str = "config.settings") -> dict:
        drop = {"DJANGO_SETTINGS_MODULE", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE", "LOG_FORMAT", "SECRET_KEY"}
        env = {key: value for key, value in os.environ.items() if key not in drop}
        env.update(
            DEBUG="1",
            DJANGO_SETTINGS_MODULE=settings_module,
            DATABASE_URL=self.url,
            PRIVATE_MEDIA_ROOT=str(self.private),
            MEDIA_ROOT=str(self.media),
        )
        return env

    def program(self, mode: str) -> dict:
        result = subprocess.run(
            [sys.executable, "-c", PROGRAM, mode],
            cwd=ROOT,
            env=self.env("tests.settings"),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        return json.loads(result.stdout.strip().splitlines()[-1])

    def manage(self, *args: str, answer: str = "") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env(),
            input=answer,
            capture_output=True,
            text=True,
            timeout=180,
        )

    def backup(self) -> Path:
        existing = set(self.backups.glob("*.tar.gz")) if self.backups.exists() else set()
        result = self.manage("backup", "--output-dir", str(self.backups))
        assert result.returncode == 0, result.stderr[-3000:]
        (archive,) = set(self.backups.glob("*.tar.gz")) - existing
        return archive

    def files(self) -> dict[str, bytes]:
        found = {}
        for store in (self.private, self.media):
            for path in sorted(store.rglob("*")):
                if path.is_file():
                    found[f"{store.name}/{path.relative_to(store).as_posix()}"] = path.read_bytes()
        return found

    def drop_database(self) -> None:
        if self.engine == "sqlite":
            Path(self.name).unlink(missing_ok=True)
            return
        with _maintenance() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def wipe(self) -> None:
        self.drop_database()
        shutil.rmtree(self.private)
        shutil.rmtree(self.media)


def _maintenance():
    import psycopg

    settings = connection.settings_dict
    params = {key.lower(): settings[key] for key in ("HOST", "PORT", "USER", "PASSWORD") if settings.get(key)}
    return psycopg.connect(dbname="postgres", autocommit=True, **params)


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def site(request, tmp_path_factory):
    """A separate, migrated installation with three proposals, their attachments and one media file."""
    root = tmp_path_factory.mktemp(f"site-{request.param}")
    if request.param == "postgres":
        test_services.need(connection.vendor == "postgresql", "PostgreSQL (DATABASE_URL=postgres://…)")
        name = f"{connection.settings_dict['NAME']}_bk_{uuid.uuid4().hex[:6]}"
        with _maintenance() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _database_url_for_worker({**connection.settings_dict, "NAME": name})
    else:
        name = str(root / "jiebang.sqlite3")
        url = f"sqlite:///{name}"
    site = Site(root, url, request.param, name)
    site.media.mkdir()
    (site.media / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(64))
    site.seeded = site.program("seed")
    yield site
    site.drop_database()


def members(archive: Path) -> dict[str, bytes]:
    with tarfile.open(archive, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}


def test_backup_wipe_and_restore_bring_back_every_proposal_and_file(site):
    before = site.program("inspect")
    assert before == site.seeded
    assert len(before["proposals"]) == 3
    assert len(before["attachments"]) == 3 + 2 + 2 + 3  # pledge and matching funds (+ agreement) + one extra each
    assert all(stored == read for *_, stored, read in before["attachments"])
    files = site.files()
    assert len(files) == len(before["attachments"]) + 1  # and the media file

    archive = site.backup()
    assert re.fullmatch(r"jiebang-\d{8}-\d{6}\.tar\.gz", archive.name)
    assert archive.stat().st_mode & 0o077 == 0  # the archive holds personal data: owner only
    content = members(archive)
    manifest = json.loads(content.pop("manifest.json"))
    dump = "database.dump" if site.engine == "postgres" else "database.sqlite3"
    assert manifest["database"]["file"] == dump and content[dump]
    assert manifest["version"] == "0.1.0" and manifest["application"] == "jiebang"
    assert "0001_initial" in manifest["migrations"]["proposals"]
    assert manifest["files"] == {
        name: {"sha256": hashlib.sha256(data).hexdigest(), "size": len(data)} for name, data in content.items()
    }
    assert {name: data for name, data in content.items() if name != dump} == files

    site.wipe()
    assert site.files() == {}
    result = site.manage("restore", str(archive), "--noinput")
    assert result.returncode == 0, result.stderr[-3000:]

    after = site.program("inspect")
    assert after["proposals"] == before["proposals"]
    assert after["attachments"] == before["attachments"]
    chain_ok, actions = after["audit"]
    assert chain_ok and actions == before["audit"][1] + ["system.restore"]  # the trail says it was restored
    assert site.files() == files  # every file, byte for byte


def write_archive(out: Path, entries) -> Path:
    with tarfile.open(out, "w:gz") as tar:
        for member, data in entries:
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    return out


def test_a_tampered_archive_is_refused_and_nothing_is_changed(site, tmp_path):
    archive = site.backup()
    later = site.private / "proposals" / "made-after-the-backup.pdf"
    later.write_bytes(b"%PDF-1.4 newer")
    before, files = site.program("inspect"), site.files()
    with tarfile.open(archive, "r:gz") as tar:
        entries = [(member, tar.extractfile(member).read()) for member in tar.getmembers()]
    victim = next(m.name for m, _ in entries if m.name.startswith("private/proposals/"))

    def flip(member, data):  # one byte of one attachment changed, same size
        return data[:-2] + bytes([data[-2] ^ 1]) + data[-1:] if member.name == victim else data

    def moved(member):  # a path that climbs out of the stores
        if member.name != victim:
            return member
        member = copy.copy(member)
        member.name = "private/../../outside.pdf"
        return member

    extra = tarfile.TarInfo("private/proposals/evil.pdf")
    bad = {
        "flipped": (write_archive(tmp_path / "flipped.tar.gz", [(m, flip(m, d)) for m, d in entries]), victim),
        "smuggled": (write_archive(tmp_path / "smuggled.tar.gz", [*entries, (extra, b"evil")]), "evil.pdf"),
        "escaping": (write_archive(tmp_path / "escaping.tar.gz", [(moved(m), d) for m, d in entries]), "outside.pdf"),
    }
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(archive.read_bytes()[: archive.stat().st_size // 2])
    bad["truncated"] = (truncated, truncated.name)

    for label, (path, named) in bad.items():
        result = site.manage("restore", str(path), "--noinput")
        assert result.returncode != 0, label
        assert named in result.stderr, (label, result.stderr)
        assert site.files() == files, label  # the newer file is still there: no store was touched
    assert not (site.root.parent / "outside.pdf").exists()
    declined = site.manage("restore", str(archive), answer="no\n")  # an intact archive, but the operator says no
    assert declined.returncode != 0 and archive.name in declined.stdout
    assert site.files() == files
    assert site.program("inspect") == before  # nor the database

    intact = site.manage("restore", str(archive), "--verify-only")
    assert intact.returncode == 0, intact.stderr
    assert site.files() == files
