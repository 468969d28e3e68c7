import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_choice, env_int, env_list

ROOT = Path(__file__).resolve().parent.parent
PROD_KEY = "k" * 20 + "9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1"


@pytest.mark.parametrize(
    "raw, expected", [("1", True), ("TRUE", True), ("on", True), ("0", False), ("no", False), ("", True)]
)
def test_env_bool_accepts_the_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", True) is expected


@pytest.mark.parametrize("raw", ["flase", "2", "yes please"])
def test_env_bool_rejects_anything_else(monkeypatch, raw):
    monkeypatch.setenv("X_FLAG", raw)
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", False)


def test_env_int_list_and_choice_are_strict(monkeypatch):
    monkeypatch.setenv("X_INT", "12a")
    with pytest.raises(ImproperlyConfigured):
        env_int("X_INT", 1)
    monkeypatch.setenv("X_INT", "-1")
    with pytest.raises(ImproperlyConfigured):
        env_int("X_INT", 1, minimum=0)
    monkeypatch.setenv("X_LIST", "a.example,,b.example")
    with pytest.raises(ImproperlyConfigured):
        env_list("X_LIST", [])
    monkeypatch.setenv("X_LIST", "a.example, b.example")
    assert env_list("X_LIST", []) == ["a.example", "b.example"]
    monkeypatch.setenv("X_MAIL", "carrier-pigeon")
    with pytest.raises(ImproperlyConfigured):
        env_choice("X_MAIL", "console", {"console": "c"})


def run_manage(*args, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DEBUG", "SECRET_KEY", "DJANGO_SETTINGS_MODULE", "ALLOWED_HOSTS", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    }
    base.update(env)
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=base, capture_output=True, text=True, timeout=120
    )


def test_secret_key_is_required_when_debug_is_off():
    result = run_manage("check", DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_malformed_values_stop_start_up():
    assert "DEBUG" in run_manage("check", DEBUG="maybe").stderr
    result = run_manage("check", DEBUG="1", REDIS_URL="localhost:6379")
    assert result.returncode != 0 and "REDIS_URL" in result.stderr


def test_deploy_check_is_clean_with_production_values():
    result = run_manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DEBUG="0",
        SECRET_KEY=PROD_KEY,
        ALLOWED_HOSTS="jiebang.example.org",
        CSRF_TRUSTED_ORIGINS="https://jiebang.example.org",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "WARNINGS" not in result.stdout + result.stderr


def test_without_redis_celery_is_eager_and_says_so_once():
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
    code = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='config.settings'; django.setup();"
        "from config.celery import app, announce_mode; announce_mode(); announce_mode();"
        "print('EAGER', app.conf.task_always_eager)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**env, "DEBUG": "1"}, capture_output=True, text=True, timeout=60
    )
    assert "EAGER True" in result.stdout
    assert result.stderr.count("Celery tasks run eagerly") == 1


def test_time_and_language_defaults(settings):
    assert settings.LANGUAGE_CODE == "zh-hans"
    assert settings.TIME_ZONE == "Asia/Shanghai" and settings.USE_TZ


def test_collectstatic_works_with_production_storage(tmp_path):
    """Manifest storage fails on a missing file that CSS or JS refers to (e.g. a source map)."""
    result = run_manage(
        "collectstatic",
        "--noinput",
        DEBUG="0",
        SECRET_KEY=PROD_KEY,
        ALLOWED_HOSTS="jiebang.example.org",
        STATIC_ROOT=str(tmp_path / "static"),
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert (tmp_path / "static" / "staticfiles.json").exists()


def test_plain_manage_py_works_in_a_checkout_and_no_migration_is_missing():
    """`python manage.py makemigrations --check` with no environment at all: development defaults."""
    result = run_manage("makemigrations", "--check", "--dry-run")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout
