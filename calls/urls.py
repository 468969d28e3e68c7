from django.urls import path

from calls.views import documents, manage, public

app_name = "calls"

urlpatterns = [
    path("", public.call_list, name="list"),
    path("mine/", manage.my_calls, name="mine"),
    path("new/", manage.create_call, name="create"),
    path("review/", manage.review_queue, name="review"),
    path("<str:code>/", public.call_detail, name="detail"),
    path("<str:code>/edit/", manage.edit_call, name="edit"),
    path("<str:code>/action/<str:action>/", manage.call_action, name="action"),
    path("<str:code>/amend/", manage.amend_call, name="amend"),
    path("<str:code>/documents/", documents.upload_document, name="upload_document"),
    path("<str:code>/documents/<int:pk>/", documents.download_document, name="document"),
    path("<str:code>/documents/<int:pk>/delete/", documents.delete_document, name="delete_document"),
]
