"""config.deferred: queued work waits for the response to be sent; outside a request it runs at once."""

import logging

import pytest

from config import deferred
from config.deferred import after_response
from proposals import services
from proposals.tasks import notify_task
from tests.factories_proposals import complete_proposal


def test_outside_a_request_the_work_runs_at_once():
    done = []
    after_response(lambda: done.append(1))
    assert done == [1]


def test_inside_a_request_the_work_waits_for_the_response_and_a_failure_is_logged(caplog):
    done = []
    deferred._start()  # what request_started calls (its other receivers need a database)
    after_response(lambda: done.append("first"))
    after_response(lambda: 1 / 0)
    after_response(lambda: done.append("third"))
    assert done == []
    with caplog.at_level(logging.ERROR, logger="config.deferred"):
        deferred._finish()
    assert done == ["first", "third"]
    assert "failed after the response was sent" in caplog.text
    after_response(lambda: done.append("later"))  # the request is over: at once again
    assert done == ["first", "third", "later"]


def test_work_left_by_a_response_never_closed_runs_when_the_next_request_starts():
    done = []
    deferred._start()
    after_response(lambda: done.append("left"))
    deferred._start()  # the next request; the previous one's response was never closed
    assert done == ["left"]
    deferred._finish()


@pytest.mark.django_db(transaction=True)  # real commits: on_commit runs inside the request
def test_a_submit_queues_its_tasks_after_the_view_has_answered(call, lead_applicant, client_for, monkeypatch):
    proposal = complete_proposal(call, lead_applicant)
    queued = []
    monkeypatch.setattr(notify_task, "delay", lambda *args: queued.append(args))
    answered = []
    original = services.submit_proposal

    def submit_and_look(**kwargs):
        result = original(**kwargs)
        answered.append(list(queued))  # committed, the view has not answered yet
        return result

    monkeypatch.setattr(services, "submit_proposal", submit_and_look)
    response = client_for(lead_applicant).post(f"/proposals/{proposal.pk}/submit/")
    assert response.status_code == 302
    assert answered == [[]]  # nothing queued while the request was being answered
    assert queued == [(proposal.pk, "submitted")]  # queued once the response was closed
