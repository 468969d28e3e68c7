"""The formal-review queue is served from the cache until the audit head moves
(audit.page_cache): decisions and submissions show on the next view, and every viewer's rows
carry its own CSRF token, never the cached placeholder or another session's token."""

import re

import pytest
from django.test import Client

from calls.choices import CallStatus
from proposals import services
from proposals.choices import ProposalStatus
from tests.factories_calls import CallFactory, ProgrammeFactory
from tests.test_proposal_review import many_proposals, queue_url

pytestmark = pytest.mark.django_db


@pytest.fixture
def call(issuer):
    return CallFactory(issuer=issuer.organization, status=CallStatus.CLOSED, programme=ProgrammeFactory())


def row_tokens(html: str) -> set[str]:
    """The CSRF tokens of the row forms (decide-<pk>)."""
    return set(
        re.findall(r'data-testid="decide-\d+">\s*<input type="hidden" name="csrfmiddlewaretoken" value="([^"]*)"', html)
    )


def test_a_decision_shows_on_the_next_view(administrator, client_for, call):
    first, second = many_proposals(call, 2, ProposalStatus.SUBMITTED)
    c = client_for(administrator)
    html = c.get(queue_url(call)).content.decode()
    assert f'data-testid="decide-{first.pk}"' in html and f'data-testid="decide-{second.pk}"' in html
    services.return_for_correction(actor=administrator, proposal=first, reason="缺少盖章页")
    html = c.get(queue_url(call)).content.decode()
    assert f'data-testid="decide-{first.pk}"' not in html and f'data-testid="decide-{second.pk}"' in html
    assert "缺少盖章页" in html


def test_every_viewer_gets_its_own_csrf_token_in_the_cached_rows(administrator, client_for, call):
    waiting = many_proposals(call, 3, ProposalStatus.SUBMITTED)
    one, other = client_for(administrator), client_for(administrator)
    first = one.get(queue_url(call)).content.decode()
    second = other.get(queue_url(call)).content.decode()  # from the cache
    assert "\x00" not in first and "\x00" not in second
    assert len(row_tokens(first)) == 1 and len(row_tokens(second)) == 1  # one per page, in every row
    assert row_tokens(first) != row_tokens(second)
    # The row forms of the cached page work for the second session (a real CSRF check).
    checked = Client(enforce_csrf_checks=True)
    checked.cookies = other.cookies
    token = row_tokens(second).pop()
    response = checked.post(f"/proposals/{waiting[0].pk}/review/pass/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    waiting[0].refresh_from_db()
    assert waiting[0].status == ProposalStatus.PASSED
