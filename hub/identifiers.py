"""Validators for the identifiers messages carry, each failing with its own stable error code.

Every ``check_*`` function takes a string and returns it unchanged, or raises
``pydantic_core.PydanticCustomError(CODE, message)``; the ``Annotated`` types below attach them to model
fields as ``AfterValidator``s, so that ``hub.codec.validation_details`` reports the code itself (rather
than the generic ``XML_SCHEMA``/``JSON_SCHEMA``). Values are never normalised (no case folding, no
stripping of spaces or hyphens): the same identifier must look the same in every message to correlate.

Messages say what is wrong and never echo a value that could be personal data (a KRA PIN can be an
individual's, and a UCR or trader reference can contain one).

At the end of the module are the few lexical field types the schemas share (XML-safe text, and
``xs:dateTime``/``xs:date`` forms) so that the JSON form is held to what the XSD checks for XML.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, NoReturn

from pydantic import AfterValidator, AwareDatetime, BeforeValidator, StringConstraints
from pydantic_core import PydanticCustomError

# ISO 3166-1 alpha-2 (officially assigned codes), plus XK, which SWIFT uses in BICs for Kosovo.
_ISO_3166_ALPHA2_TEXT = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES
    ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE
    IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY
    MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU
    NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM
    SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE
    VG VI VN VU WF WS YE YT ZA ZM ZW
"""
ISO_3166_ALPHA2: frozenset[str] = frozenset(_ISO_3166_ALPHA2_TEXT.split())
_BIC_EXTRA_COUNTRIES = frozenset({"XK"})


def _fail(code: str, message: str) -> NoReturn:
    # The message is a template for pydantic-core: keep braces out of it.
    raise PydanticCustomError(code, message.replace("{", "(").replace("}", ")"))


def _first_bad(value: str, allowed: str) -> int | None:
    """1-based position of the first character not in ``allowed``, or None."""
    for i, ch in enumerate(value, 1):
        if ch not in allowed:
            return i
    return None


_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_DIGITS = "0123456789"
_UPPER_ALNUM = _UPPER + _DIGITS


# ---------------------------------------------------------------- UCR (WCO / EAC unique consignment ref.)

UCR_MAX = 35
_UCR_WCO = re.compile(r"[0-9](?P<country>[A-Z]{2})[0-9A-Z]{1,32}")
_UCR_EAC = re.compile(r"[0-9]{2}(?P<country>[A-Z]{2})[0-9A-Z]{10}[0-9A-Z]{0,21}")


def check_ucr(value: str) -> str:
    """WCO form: 1 year digit, ISO country, trader reference. EAC form: 2 year digits, ISO country,
    10-character trader id, up to 21 further characters. At most 35 characters, no check digit."""
    code = "UCR_FORMAT"
    if not value or len(value) > UCR_MAX:
        _fail(code, f"a UCR has 1 to {UCR_MAX} characters, not {len(value)}")
    bad = _first_bad(value, _UPPER_ALNUM)
    if bad is not None:
        _fail(code, f"a UCR has only upper-case letters A-Z and digits; character {bad} is neither")
    eac = value[1].isdigit() if len(value) > 1 else False
    match = (_UCR_EAC if eac else _UCR_WCO).fullmatch(value)
    if match is None:
        if eac:
            _fail(
                code,
                "an EAC-form UCR is a 2-digit year, an ISO 3166 alpha-2 country code, a 10-character "
                "trader id and up to 21 more characters (14 to 35 in all)",
            )
        _fail(
            code,
            "a WCO-form UCR is a 1-digit year, an ISO 3166 alpha-2 country code and the trader "
            "reference; an EAC-form UCR starts with a 2-digit year",
        )
    if match["country"] not in ISO_3166_ALPHA2:
        _fail(code, f"a UCR's country part {match['country']} is not an ISO 3166 alpha-2 code")
    return value


# ---------------------------------------------------------------- container number (ISO 6346)

_CONTAINER = re.compile(r"[A-Z]{3}[UJZ][0-9]{7}")
_CONTAINER_PREFIX = re.compile(r"[A-Z]{4}[0-9]{6}")


def _iso6346_letter_values() -> dict[str, int]:
    values: dict[str, int] = {}
    n = 10
    for letter in _UPPER:
        if n % 11 == 0:  # multiples of 11 are skipped
            n += 1
        values[letter] = n
        n += 1
    return values


_ISO6346_VALUES = {**_iso6346_letter_values(), **{d: int(d) for d in _DIGITS}}


def iso6346_check_digit(prefix10: str) -> int:
    """Check digit of a container number from its first 10 characters (owner, category, serial)."""
    if not _CONTAINER_PREFIX.fullmatch(prefix10):
        raise ValueError("expected 4 upper-case letters and 6 digits")
    total = sum(_ISO6346_VALUES[ch] << i for i, ch in enumerate(prefix10))
    return total % 11 % 10  # a remainder of 10 is written 0


def check_container(value: str) -> str:
    """ISO 6346: 3-letter owner code, category U/J/Z, 6-digit serial, check digit."""
    if not _CONTAINER.fullmatch(value):
        _fail(
            "CONTAINER_FORMAT",
            "a container number is 11 characters: a 3-letter owner code, the category letter U, J or Z, "
            "a 6-digit serial number and a check digit, with no spaces or hyphens",
        )
    expected = iso6346_check_digit(value[:10])
    if int(value[10]) != expected:
        _fail(
            "CONTAINER_CHECK_DIGIT",
            f"container number {value} fails the ISO 6346 check: the check digit should be {expected}",
        )
    return value


# ---------------------------------------------------------------- IMO ship identification number

_IMO = re.compile(r"[0-9]{7}")


def imo_check_digit(first6: str) -> int:
    """Check digit of an IMO number from its first 6 digits (weights 7 down to 2, modulo 10)."""
    if not re.fullmatch(r"[0-9]{6}", first6):
        raise ValueError("expected 6 digits")
    return sum(int(d) * w for d, w in zip(first6, range(7, 1, -1), strict=True)) % 10


def check_imo(value: str) -> str:
    """IMO number: 7 digits (without the ``IMO`` prefix), the last a check digit."""
    if not _IMO.fullmatch(value):
        _fail("IMO_FORMAT", "an IMO number is 7 digits, without the 'IMO' prefix")
    expected = imo_check_digit(value[:6])
    if int(value[6]) != expected:
        _fail("IMO_CHECK_DIGIT", f"IMO number {value} fails its check: the check digit should be {expected}")
    return value


# ---------------------------------------------------------------- iCMS customs entry number

_ENTRY = re.compile(r"[0-9]{2}[A-Z]{3}[A-Z]{2}[0-9]{9}")


def check_entry_number(value: str) -> str:
    """iCMS entry number, 16 characters: 2-digit year, 3-letter station, 2-letter regime, 9 digits."""
    if not _ENTRY.fullmatch(value):
        _fail(
            "ENTRY_NUMBER_FORMAT",
            "an iCMS entry number is 16 characters: a 2-digit year, a 3-letter station code, a 2-letter "
            f"regime code (IM, EX, TR, ...) and 9 digits; this value has {len(value)} characters",
        )
    return value


# ---------------------------------------------------------------- KRA PIN

_KRA_PIN = re.compile(r"[A-Z][0-9]{9}[A-Z]")


def check_kra_pin(value: str) -> str:
    """KRA PIN: 11 characters, an upper-case letter, 9 digits, an upper-case letter. Never echoed."""
    code = "KRA_PIN_FORMAT"
    if _KRA_PIN.fullmatch(value):
        return value
    if len(value) != 11:
        _fail(code, f"a KRA PIN has 11 characters (letter, 9 digits, letter), not {len(value)}")
    for i, ch in enumerate(value, 1):
        want = _UPPER if i in (1, 11) else _DIGITS
        if ch not in want:
            kind = "an upper-case letter" if i in (1, 11) else "a digit"
            _fail(code, f"character {i} of a KRA PIN must be {kind}")
    _fail(code, "a KRA PIN is an upper-case letter, 9 digits and an upper-case letter")  # pragma: no cover


# ---------------------------------------------------------------- air waybill number (IATA)

_AWB = re.compile(r"[0-9]{11}")


def awb_check_digit(serial7: str) -> int:
    """Check digit of an air waybill number: its 7-digit serial modulo 7."""
    if not re.fullmatch(r"[0-9]{7}", serial7):
        raise ValueError("expected 7 digits")
    return int(serial7) % 7


def check_awb(value: str) -> str:
    """AWB: 3-digit airline prefix and 8-digit serial (7 digits and a mod-7 check digit), no hyphen."""
    if not _AWB.fullmatch(value):
        _fail(
            "AWB_FORMAT",
            "an air waybill number is 11 digits: the 3-digit airline prefix and the 8-digit serial "
            "number, written without a hyphen or spaces",
        )
    expected = awb_check_digit(value[3:10])
    if int(value[10]) != expected:
        _fail(
            "AWB_CHECK_DIGIT",
            f"air waybill {value} fails its mod-7 check: the last digit should be {expected}",
        )
    return value


# ---------------------------------------------------------------- BIC (ISO 9362)

_BIC = re.compile(r"[A-Z0-9]{4}(?P<country>[A-Z]{2})[A-Z0-9]{2}(?:[A-Z0-9]{3})?")


def check_bic(value: str) -> str:
    """ISO 9362 business identifier code: 4 party-prefix, 2 country, 2 suffix [+ 3 branch] characters."""
    match = _BIC.fullmatch(value)
    if match is None:
        _fail(
            "BIC_FORMAT",
            "a BIC is 8 or 11 upper-case letters and digits: party prefix (4), ISO country code (2), "
            "party suffix (2) and optionally a branch code (3)",
        )
    country = match["country"]
    if country not in ISO_3166_ALPHA2 and country not in _BIC_EXTRA_COUNTRIES:
        _fail("BIC_FORMAT", f"a BIC's characters 5-6 must be an ISO 3166 country code, not {country}")
    return value


# ---------------------------------------------------------------- MRN (EU/NCTS movement reference number)

_MRN = re.compile(r"[0-9]{2}[A-Z]{2}[A-Z0-9]{13}[0-9]")
_MRN_PREFIX = re.compile(r"[0-9]{2}[A-Z]{2}[A-Z0-9]{13}")


def mrn_check_digit(first17: str) -> int:
    """Check digit of an MRN from its first 17 characters: the ISO 6346 algorithm (character values with
    multiples of 11 skipped, weights 2**position, sum modulo 11, a remainder of 10 written 0)."""
    if not _MRN_PREFIX.fullmatch(first17):
        raise ValueError("expected a 2-digit year, 2 upper-case letters and 13 upper-case letters or digits")
    total = sum(_ISO6346_VALUES[ch] << i for i, ch in enumerate(first17))
    return total % 11 % 10


def check_mrn(value: str) -> str:
    """MRN, 18 characters: 2-digit year, 2-letter country, 13 upper-case alphanumerics (in NCTS phase 5 the
    last of them is the procedure category letter), and a check digit over the first 17 (ISO 6346).
    The country is not checked against ISO 3166: member states' systems use codes such as XI."""
    if not _MRN.fullmatch(value):
        _fail(
            "MRN_FORMAT",
            "an MRN is 18 characters: a 2-digit year, a 2-letter country code, 13 upper-case letters or "
            f"digits and a check digit, with no spaces; this value has {len(value)} characters",
        )
    expected = mrn_check_digit(value[:17])
    if int(value[17]) != expected:
        _fail("MRN_CHECK_DIGIT", f"MRN {value} fails the ISO 6346 check: the check digit should be {expected}")
    return value


# ---------------------------------------------------------------- the annotated types models use

Ucr = Annotated[str, AfterValidator(check_ucr)]
ContainerNumber = Annotated[str, AfterValidator(check_container)]
ImoNumber = Annotated[str, AfterValidator(check_imo)]
EntryNumber = Annotated[str, AfterValidator(check_entry_number)]
KraPin = Annotated[str, AfterValidator(check_kra_pin)]
AwbNumber = Annotated[str, AfterValidator(check_awb)]
Bic = Annotated[str, AfterValidator(check_bic)]
Mrn = Annotated[str, AfterValidator(check_mrn)]


# ---------------------------------------------------------------- lexical types shared by the schemas
# These fail with a plain ValueError, so that the codec reports the generic XML_SCHEMA / JSON_SCHEMA
# code, as the XSD does for the XML form. They belong with hub.schemas.base; they live here for now.

# Characters XML 1.0 cannot carry: a JSON message with them could not be re-encoded as XML.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# xs:dateTime with the time zone required and at most microseconds (what ``datetime`` holds).
XSD_DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
XSD_DATETIME_PATTERN = XSD_DATE_PATTERN + r"T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+\-][0-9]{2}:[0-9]{2})"
_DATETIME = re.compile(XSD_DATETIME_PATTERN)
_DATE = re.compile(XSD_DATE_PATTERN)


def check_xml_text(value: str) -> str:
    """Refuse control characters and lone surrogates, which XML 1.0 cannot represent."""
    bad = _NOT_XML.search(value)
    if bad is not None:
        raise ValueError(f"character {bad.start() + 1} is a control character XML cannot carry")
    return value


def _xsd_datetime_text(value: Any) -> Any:
    """Accept a datetime, or a string in the xs:dateTime form with a time zone (nothing looser)."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATETIME.fullmatch(value):
        raise ValueError("expected an xs:dateTime with a time zone, e.g. 2026-02-07T18:00:00+03:00")
    return value


def _xsd_date_text(value: Any) -> Any:
    """Accept a date, or a string in the xs:date form YYYY-MM-DD (no time zone)."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise ValueError("expected an xs:date YYYY-MM-DD, e.g. 2026-03-31")
    return value


XmlText = Annotated[str, AfterValidator(check_xml_text)]
XsdDateTime = Annotated[AwareDatetime, BeforeValidator(_xsd_datetime_text)]
XsdDate = Annotated[date, BeforeValidator(_xsd_date_text)]

# Free text (WCO DM names an..70, descriptions and remarks an..512): xs:string with these lengths.
Name = Annotated[str, StringConstraints(min_length=1, max_length=70), AfterValidator(check_xml_text)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=512), AfterValidator(check_xml_text)]
# A document reference without its own check (bill of lading, seal, permit, application, voyage):
# printable ASCII, no spaces. XSD: xs:token, minLength 1, maxLength 35 (17), pattern [!-~]+.
REFERENCE_PATTERN = r"^[!-~]+$"
Reference35 = Annotated[str, StringConstraints(min_length=1, max_length=35, pattern=REFERENCE_PATTERN)]
Reference17 = Annotated[str, StringConstraints(min_length=1, max_length=17, pattern=REFERENCE_PATTERN)]
# A party or office code from a registry (carrier code, CFS, customs office, agency): XSD the same pattern.
Code17 = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9]{2,17}$")]
