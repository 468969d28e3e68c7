from django.urls import path

from exports import views

app_name = "exports"

urlpatterns = [
    path("", views.jobs, name="jobs"),
    path("request/", views.request_export, name="request"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/download/", views.download, name="download"),
    path("<int:pk>/retry/", views.retry, name="retry"),
]
