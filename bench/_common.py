"""What every benchmark script shares: the bootstrap (import path, settings, DATABASE_URL default),
creating its PostgreSQL database if missing, Django set-up, child processes and their peak RSS.

Imported as `_common` (the scripts run as `python bench/<script>.py`, so bench/ is on sys.path)."""

import os
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def bootstrap(database: str, **defaults: str) -> None:
    """Put the project on sys.path and default the settings: config.settings, DEBUG=1 (the
    development key is enough here; setup_django turns the query log off), DATABASE_URL on the local
    PostgreSQL's `database`, plus any other environment defaults given."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{database}")
    for name, value in defaults.items():
        os.environ.setdefault(name, value)


def ensure_database(script: str, reset: bool = False) -> None:
    """CREATE DATABASE if it does not exist; with reset, DROP it first (PostgreSQL only)."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
    if not cfg["ENGINE"].endswith("postgresql"):
        sys.exit(f"{script} needs PostgreSQL (DATABASE_URL=postgres://…).")
    conninfo = {
        "host": cfg.get("HOST") or "127.0.0.1",
        "port": cfg.get("PORT") or 5432,
        "user": cfg.get("USER") or "postgres",
        "password": cfg.get("PASSWORD") or None,
        "dbname": "postgres",
    }
    with psycopg.connect(**{k: v for k, v in conninfo.items() if v is not None}, autocommit=True) as conn:
        if reset:
            conn.execute(f'DROP DATABASE IF EXISTS "{cfg["NAME"]}" WITH (FORCE)')
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [cfg["NAME"]]).fetchone():
            conn.execute(f'CREATE DATABASE "{cfg["NAME"]}"')


def setup_django() -> None:
    import django
    from django.conf import settings

    django.setup()
    settings.DEBUG = False  # DEBUG=1 only for the development key; no query log kept in memory


def run_child(args, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run a child process from the project root, capturing its output; if it fails, its output
    goes to stderr (the caller decides how to exit)."""
    result = subprocess.run(list(args), capture_output=True, text=True, cwd=ROOT, env=env, check=False)
    if result.returncode:
        sys.stderr.write(result.stdout + result.stderr)
    return result


def peak_rss_mb() -> int:
    """This process's peak resident set size so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def credit_code(n: int, region_code: str = "150100", prefix: str = "91") -> str:
    """A valid 统一社会信用代码, distinct for each n."""
    from accounts.validators import CHARSET, check_character

    digits = []
    for _ in range(9):
        n, rem = divmod(n, 31)
        digits.append(CHARSET[rem])
    first17 = prefix + region_code + "".join(reversed(digits))
    return first17 + check_character(first17)
