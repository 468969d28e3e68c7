from django.urls import path

from reviews import urls_decisions, urls_scoring
from reviews.views import draws, expert, files

app_name = "reviews"

urlpatterns = [
    # Administrators act, supervisors read (views/draws.py)
    path("", draws.index, name="index"),
    path("calls/<str:code>/draws/", draws.call_draws, name="call_draws"),
    path("calls/<str:code>/draws/commit/", draws.commit, name="commit"),
    path("calls/<str:code>/route/", draws.route, name="route"),
    path("draws/<int:pk>/", draws.draw_detail, name="draw"),
    path("draws/<int:pk>/perform/", draws.perform, name="perform"),
    path("draws/<int:pk>/invitations/<int:invitation_id>/no-show/", draws.no_show, name="no_show"),
    path(
        "draws/<int:pk>/conflicts/<int:conflict_id>/<str:decision>/",
        draws.decide_conflict,
        name="decide_conflict",
    ),
    # Experts (views/expert.py)
    path("mine/", expert.my_reviews, name="mine"),
    path("invitations/<int:pk>/<str:answer>/", expert.respond, name="respond"),
    path("assignments/<int:pk>/", expert.assignment_detail, name="assignment"),
    path("assignments/<int:pk>/declare/", expert.declare_conflict, name="declare"),
    path("assignments/<int:pk>/attachments/<int:attachment_id>/", files.attachment, name="attachment"),
]

# Scoring (views/scoring.py) and decisions, notice, objections and results
# (views/decisions.py, views/notice.py) keep their routes in their own modules.
urlpatterns += urls_scoring.urlpatterns + urls_decisions.urlpatterns
