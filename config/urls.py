from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from accounts.views import home, set_language
from config.api import build_urls as api_urls
from config.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("i18n/setlang/", set_language, name="set_language"),
    path("admin/", admin.site.urls),
    *api_urls(),
]

# Unprefixed URLs are always Chinese; English lives under /en/.
urlpatterns += i18n_patterns(
    path("", home, name="home"),
    path("accounts/", include("accounts.urls")),
    path("audit/", include("audit.urls")),
    path("calls/", include("calls.urls")),
    path("experts/", include("experts.urls")),
    path("proposals/", include("proposals.urls")),
    path("exports/", include("exports.urls")),
    path("reviews/", include("reviews.urls")),
    prefix_default_language=False,
)

admin.site.site_header = "揭榜挂帅管理系统"
admin.site.site_title = "揭榜挂帅"
