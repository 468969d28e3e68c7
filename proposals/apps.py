from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProposalsConfig(AppConfig):
    name = "proposals"
    verbose_name = _("Proposals")

    def ready(self):
        import config.deferred  # noqa: F401  (connects to the request signals before the first request)
        from proposals.panels import register_panels

        register_panels()
