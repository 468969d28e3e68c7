from django.urls import path

from experts.views import pool

app_name = "experts"

urlpatterns = [
    path("", pool.pool_list, name="list"),
    path("template/", pool.download_template, name="template"),
    path("export/", pool.export_pool, name="export"),
    path("import/", pool.import_pool, name="import"),
    path("<int:pk>/", pool.expert_detail, name="detail"),
]
