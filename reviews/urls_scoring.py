"""Routes of the expert's score sheet (views/scoring.py); reviews/urls.py adds them to its own."""

from django.urls import path

from reviews.views import scoring

urlpatterns = [
    path("assignments/<int:pk>/score/", scoring.score_sheet, name="score"),
    path("assignments/<int:pk>/score/autosave/", scoring.autosave, name="score_autosave"),
    path("assignments/<int:pk>/score/submit/", scoring.submit, name="score_submit"),
    # Administrators
    path("scores/<int:pk>/reopen/", scoring.reopen, name="score_reopen"),
]
