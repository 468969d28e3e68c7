"""The public call list builds its cards and filter options in Python (calls.views.public,
calls.filters) rather than in the template: the markup, escaping and formatting stay the ones
the template gave."""

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.regions import Region
from calls.choices import CallStatus, SupportMode, TechField
from calls.models import Call, support_label
from tests.factories import OrganizationFactory
from tests.factories_calls import CallFactory, ProgrammeFactory, in_days

NASTY = "<script>alert(\"x\")</script> & 'q'"
NASTY_ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &#x27;q&#x27;"


def test_support_label_function_matches_the_property():
    assert support_label(SupportMode.SINGLE, 1) == Call(support_mode=SupportMode.SINGLE, max_winners=1).support_label
    assert support_label(SupportMode.HORSE_RACE, 3) == "赛马制（3家）"
    assert Call(support_mode=SupportMode.HORSE_RACE, max_winners=3).support_label == "赛马制（3家）"


@pytest.mark.django_db
def test_card_values_are_escaped(client):
    call = CallFactory(
        status=CallStatus.PUBLISHED,
        title=NASTY,
        programme=ProgrammeFactory(name=NASTY),
        issuer=OrganizationFactory(name=NASTY),
    )
    html = client.get("/calls/").content.decode()
    assert "<script>" not in html
    card = html[html.index(f'data-testid="call-{call.code}"') :]
    card = card[: card.index("</article>")]
    assert card.count(NASTY_ESCAPED) == 3  # programme, title, issuer
    # The programme's option in the filter form is escaped too.
    assert f">2025 {NASTY_ESCAPED}</option>" in html


@pytest.mark.django_db
@pytest.mark.parametrize("prefix", ["", "/en"])
def test_card_shows_what_the_template_did(client, prefix):
    deadline = in_days(12)
    call = CallFactory(
        status=CallStatus.PUBLISHED,
        code="JB-2025-X001",
        field=TechField.DAIRY,
        fiscal_cap=Decimal("1234.5"),
        support_mode=SupportMode.HORSE_RACE,
        max_winners=3,
        deadline=deadline,
        issuer=OrganizationFactory(region=Region.BAOTOU),
    )
    html = client.get(f"{prefix}/calls/").content.decode()
    card = html[html.index('data-testid="call-JB-2025-X001"') :]
    card = card[: card.index("</article>")]
    assert f'<a href="{prefix}/calls/JB-2025-X001/">{call.title}</a>' in card
    assert '<span class="badge status-published">' in card
    assert "乳业" in card and "包头市" in card and call.programme.name in card
    assert '<span class="money">1234.50</span>' in card
    assert ("Horse race (3 teams)" if prefix else "赛马制（3家）") in card
    assert timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M") in card
    if prefix:
        assert "Fiscal cap: " in card and "Deadline: " in card and "Published" in card


@pytest.mark.django_db
def test_filter_form_keeps_the_values_asked_for(client):
    programme = ProgrammeFactory(name="种业突围工程")
    CallFactory(status=CallStatus.CLOSED, programme=programme)
    html = client.get(f"/calls/?status=closed&programme={programme.pk}&q=%22x%22&cap_min=-1").content.decode()
    assert '<option value="closed" selected>' in html
    assert f'<option value="{programme.pk}" selected>2025 种业突围工程</option>' in html
    assert 'name="q" id="id_q" value="&quot;x&quot;"' in html
    assert 'is-invalid" type="number" name="cap_min"' in html  # a negative cap is refused
    # The pill of the status asked for is the active one, "All" is not.
    active = re.findall(r'<a class="nav-link active" href="[^"]*"( data-status="\w+")?>', html)
    assert active == [' data-status="closed"']
