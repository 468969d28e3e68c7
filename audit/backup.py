"""Backups: the database and both file stores in one verified archive, and putting them back.

An archive (``jiebang-YYYYmmdd-HHMMSS.tar.gz``, readable by its owner only) holds:

    manifest.json       format, application version, time, database engine and name, applied
                        migrations, and the size and sha256 of every other member
    database.dump       PostgreSQL: ``pg_dump --format=custom``  (SQLite: database.sqlite3, a copy)
    private/...         PRIVATE_MEDIA_ROOT (proposal attachments, export files)
    media/...           MEDIA_ROOT

Restoring checks every member against the manifest before it changes anything. The
PostgreSQL database is rebuilt beside the old one and swapped in only when pg_restore has
succeeded; then both file stores are replaced by the archive's files. The checksums catch
damaged or edited archives, not a forger who rewrites the manifest too: keep archives where
only operators can write.
"""

import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import tomllib
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from django.conf import settings
from django.db import DatabaseError, connections
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

logger = logging.getLogger("jiebang.backup")

FORMAT = 1
APPLICATION = "jiebang"
MANIFEST = "manifest.json"
PG_DUMP_NAME = "database.dump"
SQLITE_NAME = "database.sqlite3"
# archive folder → setting naming the directory it comes from and goes back to
STORES = {"private": "PRIVATE_MEDIA_ROOT", "media": "MEDIA_ROOT"}
SKIPPED_PREFIX = ".tmp-"  # half-built export files (exports.services.TEMP_PREFIX)
MAINTENANCE_DB = "postgres"
_BLOCK = 1 << 20
_MANIFEST_LIMIT = 64 << 20


class BackupError(Exception):
    """A backup or restore that cannot go on; the message is for the operator."""


@dataclass
class BackupResult:
    path: Path
    manifest: dict


@dataclass
class RestoreResult:
    manifest: dict
    database: str
    files: dict[str, int]
    warnings: list[str] = field(default_factory=list)


# --- what is backed up ----------------------------------------------------------------------------
def app_version() -> str:
    try:
        with open(Path(settings.BASE_DIR) / "pyproject.toml", "rb") as handle:
            return tomllib.load(handle)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _database() -> dict:
    db = settings.DATABASES["default"]
    engine = db["ENGINE"].rsplit(".", 1)[-1]
    if engine not in ("postgresql", "sqlite3"):
        raise BackupError(
            _("Backups support PostgreSQL and SQLite; this database uses %(engine)s.") % {"engine": db["ENGINE"]}
        )
    return {**db, "engine": engine}


def _stores() -> dict[str, Path]:
    roots = {folder: Path(getattr(settings, name)).resolve() for folder, name in STORES.items()}
    first, second = roots.values()
    if first == second or first in second.parents or second in first.parents:
        raise BackupError(
            _("PRIVATE_MEDIA_ROOT (%(private)s) and MEDIA_ROOT (%(media)s) must not contain one another.")
            % {"private": roots["private"], "media": roots["media"]}
        )
    return roots


def _applied_migrations() -> dict[str, list[str]]:
    applied: dict[str, list[str]] = {}
    for app, name in sorted(MigrationRecorder(connections["default"]).applied_migrations()):
        applied.setdefault(app, []).append(name)
    return applied


def _applied_migrations_or_fail() -> dict[str, list[str]]:
    try:
        return _applied_migrations()
    except DatabaseError as exc:
        raise BackupError(_("Cannot read the database: %(error)s") % {"error": exc}) from None


def _known_migrations() -> set[tuple[str, str]]:
    return set(MigrationLoader(None, ignore_no_migrations=True).disk_migrations)


# --- PostgreSQL ------------------------------------------------------------------------------------
def _pg_env(db: dict) -> dict:
    """libpq's variables for the client tools: the password never appears on a command line."""
    env = dict(os.environ)
    for key, variable in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"), ("PASSWORD", "PGPASSWORD")):
        if db.get(key):
            env[variable] = str(db[key])
    options = db.get("OPTIONS") or {}
    for key in ("sslmode", "sslrootcert", "sslcert", "sslkey"):
        if options.get(key):
            env[f"PG{key.upper()}"] = str(options[key])
    return env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(
            _("%(tool)s was not found: install the PostgreSQL client tools (the server's major version or newer).")
            % {"tool": name}
        )
    return path


def _run(command: list[str], env: dict, tool: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(
            _("%(tool)s failed: %(error)s")
            % {"tool": tool, "error": result.stderr.strip()[-2000:] or f"exit status {result.returncode}"}
        )


def _pg_connect(db: dict):
    import psycopg

    options = db.get("OPTIONS") or {}
    params = {key.lower(): db[key] for key in ("HOST", "PORT", "USER", "PASSWORD") if db.get(key)}
    params.update({key: options[key] for key in ("sslmode", "sslrootcert", "sslcert", "sslkey") if options.get(key)})
    try:
        return psycopg.connect(dbname=MAINTENANCE_DB, autocommit=True, **params)
    except psycopg.Error as exc:
        raise BackupError(
            _("Cannot connect to the %(db)s database of the PostgreSQL server: %(error)s")
            % {"db": MAINTENANCE_DB, "error": exc}
        ) from None


def _restore_postgresql(db: dict, dump: Path) -> None:
    """pg_restore into a new database beside the old one; swap it in only when that worked."""
    from psycopg import sql

    name = db["NAME"]
    building = f"{name[:40]}_restoring_{os.getpid()}"
    with _pg_connect(db) as conn:
        may_create = conn.execute(
            "SELECT rolsuper OR rolcreatedb FROM pg_roles WHERE rolname = current_user"
        ).fetchone()[0]
        if not may_create:
            raise BackupError(
                _("The database user may not create databases (CREATEDB), so %(name)s cannot be rebuilt.")
                % {"name": name}
            )
        others = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [name]
        ).fetchone()[0]
        if others:
            raise BackupError(
                ngettext(
                    "%(count)d other connection is open on database %(name)s: stop the web and worker processes.",
                    "%(count)d other connections are open on database %(name)s: stop the web and worker processes.",
                    others,
                )
                % {"count": others, "name": name}
            )
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(building)))
        conn.execute(sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(sql.Identifier(building)))
        try:
            command = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error"]
            _run([*command, "--dbname", building, str(dump)], _pg_env(db), "pg_restore")
        except BaseException:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(building)))
            raise
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(sql.SQL("ALTER DATABASE {} RENAME TO {}").format(sql.Identifier(building), sql.Identifier(name)))


# --- SQLite ----------------------------------------------------------------------------------------
def _dump_sqlite(db: dict, out: Path) -> None:
    source = Path(db["NAME"])
    # The backup API copies a consistent snapshot even while the site is running.
    src = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    dst = sqlite3.connect(out)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def _restore_sqlite(db: dict, copy: Path) -> None:
    target = Path(db["NAME"])
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.with_name(f"{target.name}.restoring")
    shutil.copyfile(copy, building)
    for suffix in ("-wal", "-shm", "-journal"):  # they belong to the old file
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(building, target)


# --- backup ----------------------------------------------------------------------------------------
class _Hashing:
    """A file reader that hashes what tarfile copies, so each file is read once."""

    def __init__(self, handle):
        self.handle = handle
        self.digest = hashlib.sha256()

    def read(self, size=-1):
        data = self.handle.read(size)
        self.digest.update(data)
        return data


def _add(tar: tarfile.TarFile, path: Path, name: str, files: dict) -> None:
    with open(path, "rb") as handle:
        info = tar.gettarinfo(arcname=name, fileobj=handle)
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        reader = _Hashing(handle)
        tar.addfile(info, reader)
    files[name] = {"sha256": reader.digest.hexdigest(), "size": info.size}


def _archive_path(folder: Path) -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    path = folder / f"{APPLICATION}-{stamp}.tar.gz"
    number = 2
    while path.exists():
        path = folder / f"{APPLICATION}-{stamp}-{number}.tar.gz"
        number += 1
    return path


def create_backup(output_dir) -> BackupResult:
    """Write one archive into output_dir (created, owner-only, if missing) and return it."""
    db = _database()
    stores = _stores()
    if db["engine"] == "sqlite3" and not Path(db["NAME"]).is_file():  # before Django's connection creates it
        raise BackupError(_("The SQLite database %(path)s does not exist.") % {"path": db["NAME"]})
    folder = Path(output_dir).resolve()
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    manifest = {
        "format": FORMAT,
        "application": APPLICATION,
        "version": app_version(),
        "created_at": timezone.now().isoformat(),
        "database": {"engine": db["engine"], "name": str(db["NAME"])},
        "migrations": _applied_migrations_or_fail(),
        "stores": {},
        "files": {},
    }
    connections["default"].close()
    path = _archive_path(folder)
    partial = folder / f".{path.name}.part"
    with tempfile.TemporaryDirectory(prefix=".jiebang-backup-", dir=folder) as scratch:
        if db["engine"] == "postgresql":
            dump = Path(scratch) / PG_DUMP_NAME
            _run(
                [_tool("pg_dump"), "--format=custom", f"--file={dump}", "--dbname", db["NAME"]],
                _pg_env(db),
                "pg_dump",
            )
        else:
            dump = Path(scratch) / SQLITE_NAME
            _dump_sqlite(db, dump)
        manifest["database"]["file"] = dump.name
        try:
            descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                _add(tar, dump, dump.name, manifest["files"])
                for store, root in stores.items():
                    count = 0
                    for directory, subdirs, names in os.walk(root):
                        subdirs.sort()
                        for filename in sorted(names):
                            source = Path(directory) / filename
                            if filename.startswith(SKIPPED_PREFIX) or source.is_symlink() or not source.is_file():
                                continue
                            _add(tar, source, f"{store}/{source.relative_to(root).as_posix()}", manifest["files"])
                            count += 1
                    manifest["stores"][store] = {"path": str(root), "files": count}
                data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size, info.mode, info.mtime = len(data), 0o600, int(timezone.now().timestamp())
                tar.addfile(info, io.BytesIO(data))
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
    logger.info("backup written to %s (%d files)", path, len(manifest["files"]), extra={"archive": str(path)})
    return BackupResult(path, manifest)


# --- restore ---------------------------------------------------------------------------------------
def _member_name(member: tarfile.TarInfo) -> str:
    name = member.name
    parts = PurePosixPath(name).parts
    top_level = {MANIFEST, PG_DUMP_NAME, SQLITE_NAME}
    allowed = name in top_level or (len(parts) > 1 and parts[0] in STORES)
    if (
        not member.isfile()
        or not allowed
        or name.startswith("/")
        or "\\" in name
        or any(part in ("", ".", "..") for part in parts)
        or PurePosixPath(*parts).as_posix() != name
    ):
        raise BackupError(_("The archive holds an unexpected entry “%(name)s”.") % {"name": name})
    return name


def _unpack(archive: Path, staging: Path) -> tuple[dict, dict]:
    """Extract into staging, hashing as it goes: (manifest, {name: (sha256, size)})."""
    if not archive.is_file():
        raise BackupError(_("%(archive)s does not exist.") % {"archive": archive})
    found: dict[str, tuple[str, int]] = {}
    manifest_bytes = None
    try:
        with tarfile.open(archive, mode="r:gz") as tar:
            for member in tar:
                name = _member_name(member)
                if name in found or (name == MANIFEST and manifest_bytes is not None):
                    raise BackupError(_("The archive holds “%(name)s” twice.") % {"name": name})
                source = tar.extractfile(member)
                if name == MANIFEST:
                    manifest_bytes = source.read(_MANIFEST_LIMIT)
                    continue
                target = staging / name
                target.parent.mkdir(parents=True, exist_ok=True)
                digest, size = hashlib.sha256(), 0
                with open(target, "wb") as out:
                    while block := source.read(_BLOCK):
                        digest.update(block)
                        size += len(block)
                        out.write(block)
                found[name] = (digest.hexdigest(), size)
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise BackupError(
            _("%(archive)s is not a readable backup archive: %(error)s") % {"archive": archive, "error": exc}
        ) from None
    if manifest_bytes is None:
        raise BackupError(_("The archive has no manifest.json."))
    try:
        manifest = json.loads(manifest_bytes)
    except ValueError:
        raise BackupError(_("The archive's manifest.json is not valid JSON.")) from None
    if not isinstance(manifest, dict) or manifest.get("application") != APPLICATION:
        raise BackupError(_("This is not a Jiebang backup archive."))
    if manifest.get("format") != FORMAT:
        raise BackupError(
            _("This archive has format %(found)s; this release reads format %(expected)s.")
            % {"found": manifest.get("format"), "expected": FORMAT}
        )
    return manifest, found


def _check(manifest: dict, found: dict) -> None:
    listed = manifest.get("files") or {}
    try:
        expected = {name: (entry["sha256"], entry["size"]) for name, entry in listed.items()}
    except (AttributeError, KeyError, TypeError):
        raise BackupError(_("The archive's manifest.json lists its files incorrectly.")) from None
    changed = sorted(name for name in expected.keys() & found.keys() if expected[name] != found[name])
    missing = sorted(expected.keys() - found.keys())
    unlisted = sorted(found.keys() - expected.keys())
    if changed or missing or unlisted:
        problems = []
        if changed:
            problems.append(_("checksum mismatch: %(names)s") % {"names": ", ".join(changed[:5])})
        if missing:
            problems.append(_("missing: %(names)s") % {"names": ", ".join(missing[:5])})
        if unlisted:
            problems.append(_("not in the manifest: %(names)s") % {"names": ", ".join(unlisted[:5])})
        raise BackupError(_("The archive was damaged or altered (%(problems)s).") % {"problems": "; ".join(problems)})
    dump = (manifest.get("database") or {}).get("file")
    if dump not in (PG_DUMP_NAME, SQLITE_NAME) or dump not in found:
        raise BackupError(_("The archive holds no database dump."))


def verify_archive(archive) -> dict:
    """Check an archive without changing anything; returns its manifest."""
    archive = Path(archive)
    with tempfile.TemporaryDirectory(prefix="jiebang-verify-") as staging:
        manifest, found = _unpack(archive, Path(staging))
        _check(manifest, found)
    return manifest


def _replace_tree(staged: Path, target: Path) -> int:
    """Make target hold exactly the staged files (target itself may be a mount point: kept)."""
    target.mkdir(parents=True, exist_ok=True)
    for child in target.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    count = 0
    if staged.is_dir():
        count = sum(1 for path in staged.rglob("*") if path.is_file())
        for child in staged.iterdir():
            shutil.move(str(child), str(target / child.name))
    return count


def _migration_warnings(manifest: dict) -> list[str]:
    archived = {(app, name) for app, names in (manifest.get("migrations") or {}).items() for name in names}
    known = _known_migrations()
    warnings = []
    newer = sorted(archived - known)
    if newer:
        warnings.append(
            _(
                "The backup has migrations this code does not know (%(names)s): "
                "it was made by a newer release (%(version)s)."
            )
            % {"names": ", ".join(f"{a}.{n}" for a, n in newer[:5]), "version": manifest.get("version")}
        )
    if known - archived:
        warnings.append(_("This code has migrations the backup lacks: run “python manage.py migrate” now."))
    return warnings


def restore_backup(archive, confirm=None) -> RestoreResult:
    """Verify the archive, then replace the database and both file stores with its contents.

    confirm(manifest) is asked once the archive has been verified; False cancels, changing nothing.
    """
    archive = Path(archive)
    db = _database()
    stores = _stores()
    with tempfile.TemporaryDirectory(prefix="jiebang-restore-") as staging_dir:
        staging = Path(staging_dir)
        manifest, found = _unpack(archive, staging)
        _check(manifest, found)
        engine = manifest["database"].get("engine")
        if engine != db["engine"]:
            raise BackupError(
                _("The archive holds a %(archived)s database but DATABASE_URL points at %(current)s.")
                % {"archived": engine, "current": db["engine"]}
            )
        if confirm is not None and not confirm(manifest):
            raise BackupError(_("Restore cancelled; nothing was changed."))
        connections.close_all()
        dump = staging / manifest["database"]["file"]
        if db["engine"] == "postgresql":
            _restore_postgresql(db, dump)
        else:
            _restore_sqlite(db, dump)
        files = {store: _replace_tree(staging / store, root) for store, root in stores.items()}
    connections.close_all()
    result = RestoreResult(manifest=manifest, database=str(db["NAME"]), files=files)
    result.warnings = _migration_warnings(manifest)
    _record_restore(archive, manifest, result)
    made = manifest.get("created_at")
    logger.warning("restored %s (made %s) into database %s", archive, made, db["NAME"], extra={"archive": str(archive)})
    return result


def _record_restore(archive: Path, manifest: dict, result: RestoreResult) -> None:
    """The restored audit trail says that it was restored (if the schema is current enough to write it)."""
    from audit.services import record

    try:
        record(
            actor=None,
            action="system.restore",
            object_type="system.backup",
            object_id=archive.name,
            object_repr=archive.name,
            after={"created_at": manifest.get("created_at"), "version": manifest.get("version"), "files": result.files},
        )
    except Exception as exc:  # noqa: BLE001 - the data is back; a missing audit table must not hide that
        result.warnings.append(_("The restore could not be written to the audit trail: %(error)s") % {"error": exc})
