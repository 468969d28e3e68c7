#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # A checkout with no deployment environment at all (no DEBUG, no SECRET_KEY) is a developer's:
    # let `python manage.py makemigrations --check` and friends work there. Production sets both,
    # and the web server (config/wsgi.py) never takes this shortcut.
    if "DEBUG" not in os.environ and "SECRET_KEY" not in os.environ:
        os.environ["DEBUG"] = "1"
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
