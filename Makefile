# Jiebang — two commands do all set-up:  make run   |   make test
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8000
ARGS ?=

.PHONY: run test worker beat lint messages system-deps clean backup restore

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.dev-installed: requirements-dev.txt requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.runtime-installed

# Embedded default: SQLite file, Celery eager, DEBUG on, demo data.
run: $(VENV)/.runtime-installed
	export DEBUG=$${DEBUG:-1}; \
	$(BIN)/python manage.py migrate --noinput && \
	$(BIN)/python manage.py seed_demo && \
	echo "==> http://127.0.0.1:$(PORT)/" && \
	exec $(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(VENV)/.dev-installed system-deps
	$(BIN)/python -m pytest $(ARGS)

# Debian Chromium and a CJK font for browser tests and screenshots; nginx for the X-Accel-Redirect test.
system-deps:
	@missing=""; \
	[ -x /usr/bin/chromium ] || missing="$$missing chromium"; \
	[ -x /usr/sbin/nginx ] || missing="$$missing nginx-light"; \
	dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || missing="$$missing fonts-wqy-microhei"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "==> apt-get install$$missing"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "==> missing$$missing (not root: browser tests will skip, or fail with REQUIRE_SERVICES=1)"; \
	  fi; \
	fi

worker: $(VENV)/.runtime-installed
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0)"; exit 2; }
	$(BIN)/celery -A config worker --loglevel=INFO

beat: $(VENV)/.runtime-installed
	@test -n "$$REDIS_URL" || { echo "Set REDIS_URL (e.g. redis://127.0.0.1:6379/0)"; exit 2; }
	$(BIN)/celery -A config beat --loglevel=INFO --schedule=$${CELERY_BEAT_SCHEDULE_FILE:-/tmp/jiebang-celerybeat-schedule}

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The database (pg_dump, or a copy of the SQLite file), PRIVATE_MEDIA_ROOT and MEDIA_ROOT in one
# archive with sha256 sums: $(BACKUP_DIR)/jiebang-YYYYmmdd-HHMMSS.tar.gz (owner-only).
BACKUP_DIR ?= backups
backup: $(VENV)/.runtime-installed
	$(BIN)/python manage.py backup --output-dir "$(BACKUP_DIR)"

# Stop the web and worker processes first. Verifies the archive (refuses a damaged or altered
# one), then replaces the database and both file stores. Add NOINPUT=1 to skip the question.
restore: $(VENV)/.runtime-installed
	@test -n "$(ARCHIVE)" || { echo "Usage: make restore ARCHIVE=backups/jiebang-YYYYmmdd-HHMMSS.tar.gz"; exit 2; }
	$(BIN)/python manage.py restore "$(ARCHIVE)" $(if $(NOINPUT),--noinput)

# Needs GNU gettext (apt-get install gettext). The compiled .mo files are
# committed, so running the site never needs it.
messages: $(VENV)/.dev-installed
	DEBUG=1 $(BIN)/python manage.py makemessages -l zh_Hans --no-obsolete --ignore=.venv --ignore=static/vendor
	DEBUG=1 $(BIN)/python manage.py compilemessages -l zh_Hans --ignore=.venv

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis .artifacts .test-db.sqlite3
