"""Which external services the tests can reach, and what to do when one is missing.

Locally a missing service skips the tests that need it; with
REQUIRE_SERVICES=1 (CI) it fails them, so CI can never pass by skipping.
"""

import os
import shutil
import socket
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"


def required() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "") == "1"


def need(available: bool, what: str) -> None:
    if available:
        return
    if required():
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


def redis_url() -> str | None:
    return os.environ.get("REDIS_URL") or None


def port_open(url: str, default_port: int) -> bool:
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or default_port), 1):
            return True
    except OSError:
        return False


def chromium_available() -> bool:
    return os.path.exists(CHROMIUM) and shutil.which("chromium") is not None
