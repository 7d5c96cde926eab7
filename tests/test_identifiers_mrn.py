"""Property tests of the MRN (EU/NCTS movement reference number) validator, and what the public NCTS
phase 5 samples (/work/shared/samples/ncts-p5) show: their MRNs are made up and fail the check digit."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from hub.identifiers import Mrn, iso6346_check_digit, mrn_check_digit

UPPER = string.ascii_uppercase
DIGITS = string.digits
ALNUM = UPPER + DIGITS
NCTS_MESSAGES = Path("/work/shared/samples/ncts-p5/messages")
_ADAPTER: TypeAdapter[Any] = TypeAdapter(Mrn)


def _code(value: str) -> str | None:
    """None if the value validates, else the error code."""
    try:
        _ADAPTER.validate_python(value)
    except ValidationError as exc:
        (err,) = exc.errors(include_input=False)
        return str(err["type"])
    return None


def _text(alphabet: str, n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


mrns = st.builds(
    lambda year, country, rest: (p := year + country + rest) + str(mrn_check_digit(p)),
    _text(DIGITS, 2),
    _text(UPPER, 2),
    _text(ALNUM, 13),
)
NON_DIGIT = st.characters(exclude_characters=DIGITS, exclude_categories=["Cs"])


def test_known_values() -> None:
    # an MRN published as valid with an open-source NCTS MRN generator's tests, and one it corrects to 1
    assert _code("22ITZXBZYUTJFLJXK6") is None
    assert mrn_check_digit("22DK1V0QQK2S6J7TU") == 1
    assert _code("22DK1V0QQK2S6J7TU2") == "MRN_CHECK_DIGIT"
    # worked by hand: 2*1 + 6*2 + K(21)*4 + E(15)*8, zeros adding nothing
    assert mrn_check_digit("26KE" + "0" * 13) == (2 * 1 + 6 * 2 + 21 * 4 + 15 * 8) % 11 % 10
    assert iso6346_check_digit("CSQU305438") == 3
    with pytest.raises(ValueError):
        mrn_check_digit("26KE000000000000")  # 16 characters
    with pytest.raises(ValueError):
        mrn_check_digit("26ke0000000000000")


@given(mrns)
def test_generated_mrns_pass(value: str) -> None:
    assert _code(value) is None


@given(mrns, st.data())
def test_wrong_check_digit(value: str, data: st.DataObject) -> None:
    other = data.draw(st.sampled_from([d for d in DIGITS if d != value[17]]))
    assert _code(value[:17] + other) == "MRN_CHECK_DIGIT"


@given(mrns, st.integers(min_value=4, max_value=16), st.data())
def test_changing_one_character_is_caught(value: str, pos: int, data: st.DataObject) -> None:
    """A substitution escapes ISO 6346 only when the check digit stays the same: character values equal
    modulo 11 (1 and B = 12, 2 and C = 13, ...) or remainders 0 and 10 (both written 0)."""
    ch = data.draw(st.sampled_from([c for c in ALNUM if c != value[pos]]))
    changed = value[:pos] + ch + value[pos + 1 :]
    before = mrn_check_digit(value[:17])
    after = mrn_check_digit(changed[:17])
    assume(after != before)
    assert _code(changed) == "MRN_CHECK_DIGIT"


@given(mrns, NON_DIGIT)
def test_non_digit_check_is_a_format_error(value: str, ch: str) -> None:
    assert _code(value[:17] + ch) == "MRN_FORMAT"


@given(mrns, st.integers(min_value=0, max_value=16), st.sampled_from(list("abz -/é")))
def test_lower_case_space_or_punctuation_is_a_format_error(value: str, pos: int, ch: str) -> None:
    assert _code(value[:pos] + ch + value[pos + 1 :]) == "MRN_FORMAT"


@given(st.text(max_size=24))
@example("26KE00000000000000")  # digits in the country part
@example("2AB1234567890ABJ5")  # 17 characters (an NCTS sample)
@example("26KE0000000000000001")
@example("26 KE 0000000000000 1")
def test_wrong_shape(value: str) -> None:
    assume(not re.fullmatch(r"[0-9]{2}[A-Z]{2}[A-Z0-9]{13}[0-9]", value))
    assert _code(value) == "MRN_FORMAT"


def test_messages_name_the_rule_and_are_braces_free() -> None:
    with pytest.raises(ValidationError) as info:
        _ADAPTER.validate_python("22DK1V0QQK2S6J7TU2")
    msg = info.value.errors(include_input=False)[0]["msg"]
    assert "ISO 6346" in msg and "should be 1" in msg


def _sample_mrns() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted(NCTS_MESSAGES.glob("*")):
        text = path.read_text(errors="replace")
        for mrn in re.findall(r'<MRN>([^<]*)</MRN>|"MRN"\s*:\s*"([^"]*)"', text):
            found.setdefault(mrn[0] or mrn[1], set()).add(path.name)
    return found


@pytest.mark.skipif(not NCTS_MESSAGES.is_dir(), reason="NCTS samples not present")
def test_ncts_sample_mrns_are_synthetic_and_fail_the_check_digit() -> None:
    """The HMRC validator's samples use made-up MRNs that only match the XSD pattern (which has no check
    digit rule): every one of them fails ISO 6346, and one has 17 characters. Recorded here so that a
    change in the algorithm that made them pass would be noticed."""
    found = _sample_mrns()
    assert set(found) == {"27WF9X1FQ9RCKN0TM3", "29GMFMHYWWCFCWRVJ3", "24GB012345678901A0", "2AB1234567890ABJ5"}
    assert _code("2AB1234567890ABJ5") == "MRN_FORMAT"
    for mrn, expected in (("27WF9X1FQ9RCKN0TM3", 9), ("29GMFMHYWWCFCWRVJ3", 2), ("24GB012345678901A0", 5)):
        assert mrn_check_digit(mrn[:17]) == expected != int(mrn[17])
        assert _code(mrn) == "MRN_CHECK_DIGIT"
        assert _code(mrn[:17] + str(expected)) is None
