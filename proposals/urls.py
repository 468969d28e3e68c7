from django.urls import path

from proposals.views import applicant, files, review

app_name = "proposals"

urlpatterns = [
    # Applicants (views/applicant.py)
    path("", applicant.my_proposals, name="mine"),
    path("start/<str:code>/", applicant.start, name="start"),
    path("<int:pk>/", applicant.detail, name="detail"),
    path("<int:pk>/edit/<str:step>/", applicant.edit, name="edit"),
    path("<int:pk>/confirm/", applicant.confirm, name="confirm"),
    path("<int:pk>/submit/", applicant.submit, name="submit"),
    path("<int:pk>/withdraw/", applicant.withdraw, name="withdraw"),
    # Attachments (views/files.py)
    path("<int:pk>/attachments/", files.upload, name="upload"),
    path("<int:pk>/attachments/<int:attachment_id>/", files.download, name="attachment"),
    path("<int:pk>/attachments/<int:attachment_id>/remove/", files.remove, name="remove_attachment"),
    # Formal review and issuers (views/review.py)
    path("review/<str:code>/", review.queue, name="review_queue"),
    path("<int:pk>/review/<str:action>/", review.decide, name="review"),
    path("review/<str:code>/bulk-pass/", review.bulk_pass, name="bulk_pass"),
    path("for-my-calls/", review.issuer_list, name="issuer_list"),
]
