import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from accounts.validators import CHARSET, WEIGHTS, check_character, validate_credit_code


def independent_is_valid(code: str) -> bool:
    """A second formulation of GB 32100-2015: with C = 31 − (S mod 31) (31 → 0),
    the full 18-character weighted sum S + C is always a multiple of 31."""
    if len(code) != 18 or any(c not in CHARSET for c in code):
        return False
    total = sum(CHARSET.index(c) * w for c, w in zip(code[:17], WEIGHTS, strict=True))
    return (total + CHARSET.index(code[17])) % 31 == 0


@pytest.mark.parametrize("code", ["91310110666007217T", "914403001922038216"])
def test_valid_examples_from_the_standard_pass(code):
    validate_credit_code(code)


@pytest.mark.parametrize("code", ["9131011066600721", "91310110666007217TT", ""])
def test_wrong_length_is_reported_with_the_length(code):
    with pytest.raises(ValidationError) as exc:
        validate_credit_code(code)
    assert exc.value.code == "length"
    assert f"{len(code)}" in exc.value.messages[0]
    assert "18" in exc.value.messages[0]


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z", "a", "-", "中"])
def test_illegal_character_is_reported_with_its_position(bad):
    code = "91310110666007217T"
    code = code[:5] + bad + code[6:]
    with pytest.raises(ValidationError) as exc:
        validate_credit_code(code)
    assert exc.value.code == "character"
    assert "6" in exc.value.messages[0] and bad in exc.value.messages[0]


def test_wrong_check_character_says_expected_and_got():
    with pytest.raises(ValidationError) as exc:
        validate_credit_code("91310110666007217U")
    assert exc.value.code == "check"
    message = exc.value.messages[0]
    assert "T" in message and "U" in message


def test_messages_are_in_chinese_by_default():
    from django.utils import translation

    with translation.override("zh-hans"), pytest.raises(ValidationError) as exc:
        validate_credit_code("91310110666007217U")
    assert "校验" in exc.value.messages[0]


codes17 = st.text(alphabet=CHARSET, min_size=17, max_size=17)


@settings(max_examples=2000)
@given(codes17)
def test_generated_check_character_always_validates(first17):
    code = first17 + check_character(first17)
    validate_credit_code(code)
    assert independent_is_valid(code)


@settings(max_examples=2000)
@given(st.text(alphabet=CHARSET, min_size=18, max_size=18))
def test_agrees_with_independent_formulation_on_random_codes(code):
    try:
        validate_credit_code(code)
        ours = True
    except ValidationError:
        ours = False
    assert ours == independent_is_valid(code)


@settings(max_examples=1000)
@given(codes17, st.integers(0, 17), st.sampled_from(CHARSET))
def test_any_single_substitution_is_detected(first17, position, replacement):
    code = first17 + check_character(first17)
    mutated = code[:position] + replacement + code[position + 1 :]
    if mutated == code:
        return
    with pytest.raises(ValidationError):
        validate_credit_code(mutated)
