"""Routes of the review dashboard, decisions, public notice, objections and results.

Included by reviews/urls.py (namespace "reviews").
"""

from django.urls import path

from reviews.views import decisions, notice

urlpatterns = [
    # Administrators act, supervisors read (views/decisions.py)
    path("calls/<str:code>/dashboard/", decisions.dashboard, name="dashboard"),
    path("calls/<str:code>/dashboard/start/", decisions.start_review, name="start_review"),
    path("calls/<str:code>/dashboard/rank/", decisions.rank, name="rank"),
    path("calls/<str:code>/dashboard/remind/", decisions.remind, name="remind"),
    path("calls/<str:code>/decisions/", decisions.decisions_page, name="decisions"),
    path("calls/<str:code>/decisions/confirm/", decisions.confirm, name="confirm_winners"),
    path("calls/<str:code>/decisions/notice/", decisions.open_notice, name="open_notice"),
    path("calls/<str:code>/decisions/fail/", decisions.fail, name="fail"),
    # Notice administration (views/notice.py)
    path("calls/<str:code>/notice/", notice.notice_admin, name="notice_admin"),
    path(
        "calls/<str:code>/notice/objections/<int:objection_id>/handle/",
        notice.handle_objection,
        name="handle_objection",
    ),
    path("calls/<str:code>/notice/withdraw/<int:proposal_id>/", notice.withdraw, name="withdraw_recommendation"),
    path("calls/<str:code>/notice/finalise/", notice.finalise, name="finalise"),
    path("objections/<int:pk>/seal/", notice.seal, name="objection_seal"),
    # Public notice and objections (anybody reads; logged-in users object)
    path("notices/", notice.notice_list, name="notices"),
    path("notices/<str:code>/", notice.notice_detail, name="notice"),
    path("notices/<str:code>/object/", notice.submit_objection, name="object"),
    # Results once the notice has begun
    path("calls/<str:code>/ranking/", notice.ranking, name="ranking"),
    path("results/<int:pk>/", notice.result, name="result"),
]
