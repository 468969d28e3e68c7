"""deploy/ and the README stay in step with the settings: every environment variable the
application reads is in the environment example and explained in both READMEs, and the
units start what exists."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
READ_BY = [ROOT / "config" / "settings.py", ROOT / "config" / "gunicorn.py"]


def variables_read() -> set[str]:
    names = set()
    for path in READ_BY:
        text = path.read_text()
        names |= set(re.findall(r'env_(?:str|bool|int|list|choice)\(\s*"([A-Z0-9_]+)"', text))
        names |= set(re.findall(r'(?:os\.environ\.get|_int)\(\s*"([A-Z0-9_]+)"', text))
    return names


def example_variables() -> dict[str, str]:
    lines = (DEPLOY / "jiebang.env.example").read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_the_settings_read_the_variables_this_test_looks_for():
    names = variables_read()
    assert {"SECRET_KEY", "DATABASE_URL", "EMAIL_BACKEND", "PRIVATE_STORAGE", "GUNICORN_WORKERS"} <= names


def test_every_variable_is_in_the_environment_example():
    missing = variables_read() - set(example_variables())
    assert not missing, f"add to deploy/jiebang.env.example: {sorted(missing)}"


@pytest.mark.parametrize("readme", ["README.md", "README.en.md"])
def test_every_variable_is_explained_in_the_readme(readme):
    text = (ROOT / readme).read_text()
    missing = {name for name in variables_read() if f"`{name}`" not in text}
    assert not missing, f"explain in {readme}: {sorted(missing)}"


def test_the_example_is_a_production_configuration():
    values = example_variables()
    assert values["DEBUG"] == "0" and values["SECRET_KEY"] == ""  # each site sets its own key
    assert values["PRIVATE_ACCEL_REDIRECT"] == "/_private/"
    nginx = (DEPLOY / "nginx" / "jiebang.conf").read_text()
    block = re.search(r"location /_private/ \{(.*?)\}", nginx, re.S).group(1)
    assert "internal;" in block and f"alias {values['PRIVATE_MEDIA_ROOT']}/;" in block


def test_units_start_the_web_worker_and_one_beat():
    units = {path.name: path.read_text() for path in (DEPLOY / "systemd").glob("*.service")}
    assert set(units) == {"jiebang-web.service", "jiebang-worker@.service", "jiebang-beat.service"}
    assert "gunicorn -c python:config.gunicorn config.wsgi" in units["jiebang-web.service"]
    assert "celery -A config worker -n worker%i@%H" in units["jiebang-worker@.service"]
    assert "celery -A config beat" in units["jiebang-beat.service"]
    for text in units.values():
        assert "EnvironmentFile=/etc/jiebang/jiebang.env" in text and "User=jiebang" in text
    assert (ROOT / "config" / "gunicorn.py").exists() and (ROOT / "config" / "celery.py").exists()
