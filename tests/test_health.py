import pytest

from tests import services


@pytest.mark.django_db
def test_healthy(client, settings):
    url = services.redis_url()
    if url and not services.port_open(url, 6379):
        services.need(False, "Redis")
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok" and body["database"]["ok"] and body["broker"]["ok"]
    assert body["broker"]["mode"] == ("redis" if url else "eager")


@pytest.mark.django_db
def test_stopped_broker_answers_503(client, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "error" and body["broker"]["ok"] is False and body["database"]["ok"]


@pytest.mark.django_db
def test_database_failure_answers_503(client, monkeypatch):
    from config import health

    monkeypatch.setattr(health, "database_status", lambda: {"ok": False, "error": "OperationalError"})
    assert client.get("/healthz").status_code == 503


def test_ci_runs_on_postgresql():
    from django.db import connection

    if services.required():
        assert connection.vendor == "postgresql", "CI must run the suite on PostgreSQL"
    else:
        assert connection.vendor in {"postgresql", "sqlite"}
