from django.urls import path

from audit import views

app_name = "audit"

urlpatterns = [
    path("", views.entry_list, name="list"),
    path("chain/", views.chain_status, name="chain"),
    path("<int:seq>/", views.entry_detail, name="detail"),
]
