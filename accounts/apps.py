from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and organisations")

    def ready(self):
        from accounts import signals  # noqa: F401
        from accounts.panels import register_panels

        register_panels()
        from config.celery import announce_mode

        announce_mode()
