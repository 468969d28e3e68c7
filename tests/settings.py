"""Settings for the test run: config.settings under a development environment.

DEBUG=1 only while settings load (development key, no HTTPS redirects);
pytest-django then runs the tests with DEBUG off, as production does.
"""

import os

os.environ.setdefault("DEBUG", "1")

from config.settings import *  # noqa: E402,F403

# Argon2 is deliberately slow; tests create many users. Production keeps
# Argon2 first (tests/test_security.py checks config.settings itself).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
