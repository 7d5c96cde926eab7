"""Property tests of the identifier validators: generated valid identifiers pass; any change to a check
digit fails with the CHECK_DIGIT code; wrong shapes fail with the FORMAT code; personal data is not echoed."""

from __future__ import annotations

import re
import string
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from hub.identifiers import (
    ISO_3166_ALPHA2,
    AwbNumber,
    Bic,
    ContainerNumber,
    EntryNumber,
    ImoNumber,
    KraPin,
    Ucr,
    XsdDate,
    XsdDateTime,
    awb_check_digit,
    imo_check_digit,
    iso6346_check_digit,
)

UPPER = string.ascii_uppercase
DIGITS = string.digits
ALNUM = UPPER + DIGITS
COUNTRIES = sorted(ISO_3166_ALPHA2)

_ADAPTERS: dict[str, TypeAdapter[Any]] = {
    "ucr": TypeAdapter(Ucr),
    "container": TypeAdapter(ContainerNumber),
    "imo": TypeAdapter(ImoNumber),
    "entry": TypeAdapter(EntryNumber),
    "kra_pin": TypeAdapter(KraPin),
    "awb": TypeAdapter(AwbNumber),
    "bic": TypeAdapter(Bic),
}


def _code(kind: str, value: str) -> str | None:
    """None if the value validates, else the error code."""
    try:
        _ADAPTERS[kind].validate_python(value)
    except ValidationError as exc:
        (err,) = exc.errors(include_input=False)
        return str(err["type"])
    return None


def _message(kind: str, value: str) -> str:
    try:
        _ADAPTERS[kind].validate_python(value)
    except ValidationError as exc:
        return str(exc.errors(include_input=False)[0]["msg"])
    raise AssertionError("expected a failure")


def _text(alphabet: str, n: int) -> st.SearchStrategy[str]:
    return st.text(alphabet=alphabet, min_size=n, max_size=n)


def _other_digit(d: str) -> st.SearchStrategy[str]:
    return st.sampled_from([x for x in DIGITS if x != d])


# Anything that is not a digit, including lower case, space, punctuation and non-ASCII digits.
NON_DIGIT = st.characters(exclude_characters=DIGITS, exclude_categories=["Cs"])


# ---------------------------------------------------------------- container numbers (ISO 6346)

containers = st.builds(
    lambda owner, cat, serial: owner + cat + serial + str(iso6346_check_digit(owner + cat + serial)),
    _text(UPPER, 3),
    st.sampled_from("UJZ"),
    _text(DIGITS, 6),
)


def test_iso6346_known_values() -> None:
    assert iso6346_check_digit("CSQU305438") == 3  # the ISO 6346 worked example
    assert iso6346_check_digit("MSCU123456") == 6
    with pytest.raises(ValueError):
        iso6346_check_digit("CSQU30543")


@given(containers)
def test_generated_containers_pass(value: str) -> None:
    assert _code("container", value) is None


@given(containers, st.data())
def test_container_wrong_check_digit(value: str, data: st.DataObject) -> None:
    changed = value[:10] + data.draw(_other_digit(value[10]))
    assert _code("container", changed) == "CONTAINER_CHECK_DIGIT"


@given(containers, NON_DIGIT)
def test_container_non_digit_check_is_a_format_error(value: str, ch: str) -> None:
    assert _code("container", value[:10] + ch) == "CONTAINER_FORMAT"


@given(containers, st.sampled_from([c for c in UPPER if c not in "UJZ"]))
def test_container_category_other_than_ujz_is_a_format_error(value: str, cat: str) -> None:
    assert _code("container", value[:3] + cat + value[4:]) == "CONTAINER_FORMAT"


@given(st.text(max_size=20))
@example("MSCU 123456-6")
@example("mscu1234566")
@example("MSCU12345666")
def test_container_wrong_shape(value: str) -> None:
    assume(not re.fullmatch(r"[A-Z]{3}[UJZ][0-9]{7}", value))
    assert _code("container", value) == "CONTAINER_FORMAT"


# ---------------------------------------------------------------- IMO numbers

imos = _text(DIGITS, 6).map(lambda first6: first6 + str(imo_check_digit(first6)))


def test_imo_known_value() -> None:
    assert imo_check_digit("907472") == 9  # IMO 9074729, the usual worked example


@given(imos)
def test_generated_imos_pass(value: str) -> None:
    assert _code("imo", value) is None


@given(imos, st.data())
def test_imo_wrong_check_digit(value: str, data: st.DataObject) -> None:
    assert _code("imo", value[:6] + data.draw(_other_digit(value[6]))) == "IMO_CHECK_DIGIT"


@given(imos, NON_DIGIT)
def test_imo_non_digit_check_is_a_format_error(value: str, ch: str) -> None:
    assert _code("imo", value[:6] + ch) == "IMO_FORMAT"


@given(st.text(max_size=12))
@example("IMO9074729")
@example("907472")
@example("90747290")
def test_imo_wrong_shape(value: str) -> None:
    assume(not re.fullmatch(r"[0-9]{7}", value))
    assert _code("imo", value) == "IMO_FORMAT"


# ---------------------------------------------------------------- air waybills

awbs = st.builds(
    lambda prefix, serial: prefix + serial + str(awb_check_digit(serial)), _text(DIGITS, 3), _text(DIGITS, 7)
)


def test_awb_known_value() -> None:
    assert awb_check_digit("1234567") == 1234567 % 7 == 5
    assert _code("awb", "17612345675") is None


@given(awbs)
def test_generated_awbs_pass(value: str) -> None:
    assert _code("awb", value) is None


@given(awbs, st.data())
def test_awb_wrong_check_digit(value: str, data: st.DataObject) -> None:
    assert _code("awb", value[:10] + data.draw(_other_digit(value[10]))) == "AWB_CHECK_DIGIT"


@given(awbs, NON_DIGIT)
def test_awb_non_digit_check_is_a_format_error(value: str, ch: str) -> None:
    assert _code("awb", value[:10] + ch) == "AWB_FORMAT"


@given(st.text(max_size=14))
@example("176-12345675")
@example("1761234567")
def test_awb_wrong_shape(value: str) -> None:
    assume(not re.fullmatch(r"[0-9]{11}", value))
    assert _code("awb", value) == "AWB_FORMAT"


# ---------------------------------------------------------------- UCR

wco_ucrs = st.builds(
    lambda y, c, ref: y + c + ref,
    _text(DIGITS, 1),
    st.sampled_from(COUNTRIES),
    st.text(alphabet=ALNUM, min_size=1, max_size=32),
)
eac_ucrs = st.builds(
    lambda y, c, trader, rest: y + c + trader + rest,
    _text(DIGITS, 2),
    st.sampled_from(COUNTRIES),
    _text(ALNUM, 10),
    st.text(alphabet=ALNUM, max_size=21),
)
ucrs = st.one_of(wco_ucrs, eac_ucrs)


@given(ucrs)
@example("26KEP0512345680000412")
@example("6KE0512345670A10")
def test_generated_ucrs_pass(value: str) -> None:
    assert len(value) <= 35
    assert _code("ucr", value) is None


@given(ucrs, st.data())
def test_ucr_with_a_lower_case_letter_fails(value: str, data: st.DataObject) -> None:
    letters = [i for i, ch in enumerate(value) if ch.isalpha()]
    i = data.draw(st.sampled_from(letters))
    assert _code("ucr", value[:i] + value[i].lower() + value[i + 1 :]) == "UCR_FORMAT"


@given(ucrs, st.data())
def test_ucr_over_35_characters_fails(value: str, data: st.DataObject) -> None:
    need = 36 - len(value)
    tail = data.draw(st.text(alphabet=ALNUM, min_size=need, max_size=need + 10))
    assert _code("ucr", value + tail) == "UCR_FORMAT"


@given(ucrs, _text(UPPER, 2))
def test_ucr_with_an_unknown_country_fails(value: str, country: str) -> None:
    assume(country not in ISO_3166_ALPHA2)
    at = 2 if value[1].isdigit() else 1
    assert _code("ucr", value[:at] + country + value[at + 2 :]) == "UCR_FORMAT"


@given(_text(DIGITS, 2), st.sampled_from(COUNTRIES), st.text(alphabet=ALNUM, max_size=9))
def test_eac_ucr_with_a_short_trader_id_fails(year: str, country: str, trader: str) -> None:
    assert _code("ucr", year + country + trader) == "UCR_FORMAT"


@given(st.text(max_size=40))
@example("")
@example("KE26P0512345680000412")
@example("26-KE-P051234568-0000412")
def test_ucr_arbitrary_text(value: str) -> None:
    valid = re.fullmatch(r"[0-9][A-Z]{2}[0-9A-Z]{1,32}|[0-9]{2}[A-Z]{2}[0-9A-Z]{10,31}", value)
    if valid is None or value[1 if value[1:2].isalpha() else 2 :][:2] not in ISO_3166_ALPHA2:
        assert _code("ucr", value) == "UCR_FORMAT"
    else:
        assert _code("ucr", value) is None


# ---------------------------------------------------------------- iCMS entry numbers

entries = st.builds(
    lambda y, station, regime, n: y + station + regime + n,
    _text(DIGITS, 2),
    _text(UPPER, 3),
    st.sampled_from(["IM", "EX", "TR", "WH"]),
    _text(DIGITS, 9),
)


@given(entries)
@example("21MBAIM012345674")
def test_generated_entry_numbers_pass(value: str) -> None:
    assert _code("entry", value) is None


@given(entries, st.integers(0, 15), st.characters(exclude_categories=["Cs"]))
def test_entry_number_with_a_character_of_the_wrong_kind_fails(value: str, i: int, ch: str) -> None:
    wanted = DIGITS if i < 2 or i >= 7 else UPPER
    assume(ch not in wanted)
    assert _code("entry", value[:i] + ch + value[i + 1 :]) == "ENTRY_NUMBER_FORMAT"


@given(st.text(max_size=20))
@example("21MBAIM01234567")
@example("21MBAIM0123456744")
def test_entry_number_wrong_shape(value: str) -> None:
    assume(not re.fullmatch(r"[0-9]{2}[A-Z]{5}[0-9]{9}", value))
    assert _code("entry", value) == "ENTRY_NUMBER_FORMAT"


# ---------------------------------------------------------------- KRA PIN

pins = st.builds(lambda a, n, z: a + n + z, st.sampled_from(UPPER), _text(DIGITS, 9), st.sampled_from(UPPER))


@given(pins)
@example("P051234567A")
def test_generated_kra_pins_pass(value: str) -> None:
    assert _code("kra_pin", value) is None


@given(st.text(max_size=20))
@example("p051234567a")
@example("P05123456B")
@example("P0512345678B")
@example("P05123456 7B")
def test_kra_pin_wrong_shape(value: str) -> None:
    assume(not re.fullmatch(r"[A-Z][0-9]{9}[A-Z]", value))
    assert _code("kra_pin", value) == "KRA_PIN_FORMAT"


@given(pins, st.integers(0, 11), st.characters(exclude_categories=["Cs"]), st.sampled_from(["set", "insert"]))
def test_kra_pin_error_never_echoes_the_pin(pin: str, i: int, ch: str, how: str) -> None:
    bad = pin[:i] + ch + pin[i + (1 if how == "set" else 0) :]
    assume(not re.fullmatch(r"[A-Z][0-9]{9}[A-Z]", bad))
    assert _code("kra_pin", bad) == "KRA_PIN_FORMAT"
    message = _message("kra_pin", bad)
    assert bad not in message
    assert pin[1:10] not in message  # the digits are the personal part


# ---------------------------------------------------------------- BIC

bics = st.builds(
    lambda prefix, country, suffix, branch: prefix + country + suffix + branch,
    _text(ALNUM, 4),
    st.sampled_from(COUNTRIES),
    _text(ALNUM, 2),
    st.one_of(st.just(""), _text(ALNUM, 3)),
)


@given(bics)
@example("MFNOKENA")
@example("KCBLKENXXXX")
def test_generated_bics_pass(value: str) -> None:
    assert _code("bic", value) is None


@given(st.text(max_size=14))
@example("KCBLKENX1")
@example("kcblkenx")
@example("KCBLXXNX")
def test_bic_wrong_shape(value: str) -> None:
    match = re.fullmatch(r"[A-Z0-9]{4}([A-Z]{2})[A-Z0-9]{2}([A-Z0-9]{3})?", value)
    assume(match is None or match[1] not in ISO_3166_ALPHA2 | {"XK"})
    assert _code("bic", value) == "BIC_FORMAT"


# ---------------------------------------------------------------- codes are distinct and stable


def test_each_identifier_has_its_own_codes() -> None:
    assert _code("container", "MSCU1234565") == "CONTAINER_CHECK_DIGIT"
    assert _code("container", "MSCU123456") == "CONTAINER_FORMAT"
    assert _code("imo", "9074728") == "IMO_CHECK_DIGIT"
    assert _code("imo", "IMO9074729") == "IMO_FORMAT"
    assert _code("awb", "17612345674") == "AWB_CHECK_DIGIT"
    assert _code("awb", "176-12345675") == "AWB_FORMAT"
    assert _code("entry", "21MBA012345674") == "ENTRY_NUMBER_FORMAT"
    assert _code("kra_pin", "P05123456") == "KRA_PIN_FORMAT"
    assert _code("ucr", "26ke0512345678") == "UCR_FORMAT"
    assert _code("bic", "KCBLKE") == "BIC_FORMAT"


# ---------------------------------------------------------------- the lexical date-time forms


@pytest.mark.parametrize(
    "value",
    ["2026-02-07T18:00:00+03:00", "2026-02-07T15:00:00Z", "2026-02-07T15:00:00.123456-01:30"],
)
def test_xsd_datetime_accepts_the_xsd_form_with_zone(value: str) -> None:
    assert TypeAdapter(XsdDateTime).validate_python(value).tzinfo is not None


@pytest.mark.parametrize(
    "value",
    ["2026-02-07T18:00:00", "2026-02-07 18:00:00+03:00", 1770476400, "2026-02-07", " 2026-02-07T18:00:00Z"],
)
def test_xsd_datetime_refuses_other_forms(value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(XsdDateTime).validate_python(value)


def test_xsd_date_accepts_only_a_plain_date() -> None:
    assert TypeAdapter(XsdDate).validate_python("2026-08-04").isoformat() == "2026-08-04"
    for bad in ("2026-08-04Z", "2026-08-04T00:00:00", 20260804):
        with pytest.raises(ValidationError):
            TypeAdapter(XsdDate).validate_python(bad)
