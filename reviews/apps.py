from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReviewsConfig(AppConfig):
    name = "reviews"
    verbose_name = _("Review")

    def ready(self):
        from reviews import reminders  # noqa: F401  (registers the beat task)
        from reviews.decisions import register_with_calls
        from reviews.panels import register_panels

        register_panels()
        register_with_calls()
