from django.urls import path

from reviews.views import draws, expert

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
]

# Scoring (views/scoring.py, routes in urls_scoring.py) and decisions, notice,
# objections and results (views/decisions.py and views/notice.py, routes in urls_decisions.py).
try:
    from reviews.urls_scoring import urlpatterns as _scoring
except ImportError:  # being built in this session
    _scoring = []
try:
    from reviews.urls_decisions import urlpatterns as _decisions
except ImportError:
    _decisions = []
urlpatterns += _scoring + _decisions
