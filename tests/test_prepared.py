"""config.prepared: a query compiled once answers as its queryset does, for any ids."""

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.prepared import Prepared
from proposals import services
from proposals.eligibility import TEAM_ELSEWHERE, _team_elsewhere
from proposals.models import TeamMember
from tests.factories_proposals import complete_proposal, new_person_id, open_call

pytestmark = pytest.mark.django_db


def test_the_limit_rules_query_answers_as_its_queryset_for_each_proposal(call, lead_applicant, member_org):
    shared = (new_person_id(), "共同成员")
    first = complete_proposal(call, lead_applicant, team=[shared])
    services.submit_proposal(actor=lead_applicant, proposal=first)
    second = complete_proposal(open_call(programme=call.programme), lead_applicant, team=[shared])
    alone = complete_proposal(open_call(), lead_applicant)
    for proposal in (first, second, alone):
        programme_id = proposal.call.programme_id
        expected = [tuple(row) for row in _team_elsewhere(proposal.pk, programme_id)]
        assert [tuple(row) for row in TEAM_ELSEWHERE.rows(proposal.pk, programme_id)] == expected
    # The shared member is on the submitted first proposal: the second sees it there, with its role.
    person = TeamMember.objects.get(proposal=second, person__id_number=shared[0]).person_id
    assert [row[0] for row in TEAM_ELSEWHERE.rows(second.pk, second.call.programme_id)].count(person) == 1
    assert TEAM_ELSEWHERE.rows(alone.pk, alone.call.programme_id) == []


def test_an_id_that_is_not_a_parameter_is_refused():
    def build(proposal_id):
        return TeamMember.objects.filter(pk=1).values_list("pk")  # the id is never used

    fixed = Prepared(build, model="proposals.TeamMember")
    with pytest.raises(ImproperlyConfigured, match="not parameters"):
        fixed.rows(5)


def test_a_call_by_its_code_is_the_call_the_orm_loads(call, django_assert_num_queries):
    from calls.access import CALL_BY_CODE
    from calls.models import Call

    other = open_call()
    for code in (call.code, other.code):
        expected = Call.objects.select_related("programme", "issuer").get(code=code)
        with django_assert_num_queries(1):
            loaded = CALL_BY_CODE.get(code)
            # The joined rows are built and cached as select_related leaves them: no more queries.
            programme, issuer = loaded.programme, loaded.issuer
        assert (loaded.pk, loaded.code, loaded.deadline, loaded.fiscal_cap) == (
            expected.pk,
            expected.code,
            expected.deadline,
            expected.fiscal_cap,
        )
        for got, want in ((loaded, expected), (programme, expected.programme), (issuer, expected.issuer)):
            fields = type(want)._meta.concrete_fields  # non-editable ones too (created_at, updated_at…)
            assert {f.attname: getattr(got, f.attname) for f in fields} == {
                f.attname: getattr(want, f.attname) for f in fields
            }
        assert not loaded._state.adding and loaded._state.db == "default"
    # Any other text is a parameter, never SQL, and finds nothing.
    for code in ("JB-NONE-1", "' OR '1'='1", call.code.lower(), "", "\x1fjiebang-stand-in-0"):
        assert CALL_BY_CODE.get(code) is None


def test_a_text_that_is_not_a_parameter_is_refused():
    from config.prepared import PreparedObject

    fixed = PreparedObject(lambda code: TeamMember.objects.filter(pk=1), model="proposals.TeamMember", text=(0,))
    with pytest.raises(ImproperlyConfigured, match="not parameters"):
        fixed.get("JB-1")
