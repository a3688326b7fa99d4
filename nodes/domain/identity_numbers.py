"""ID numbers (GB 11643-1999) and phone numbers as people type them, made into one form.

A mediator copies numbers from ID cards, forms and phones: full-width digits from a Chinese input
method, spaces every four digits, `+86` in front. Each is normalised before it is checked, so
the same number is always stored, hashed (`nodes.identity`) and searched in the same form.

An ID number has a check character (GB 11643-1999, ISO 7064 MOD 11-2) and a birth date: a typo
in any one digit fails the check, so a wrong number is refused at once instead of being carried
up the tiers. The region code is not checked against a list: codes change between years, and
foreigners' permanent residence cards (since 2023) use the same 18-character form with a 9.
The error messages never repeat the number (they may reach a log).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from nodes.domain.case import DomainError
from protocol.text import N_

ID_FORM = re.compile(r"^[0-9]{17}[0-9X]$")
PHONE_FORM = re.compile(r"^(1[0-9]{10}|0[0-9]{2,3}-?[0-9]{7,8})$")
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)  # 2^(17-i) mod 11
CHECK_CHARS = "10X98765432"  # indexed by the weighted sum mod 11
EARLIEST_BIRTH = date(1900, 1, 1)
_SPACES = re.compile(r"\s+")
_PHONE_NOISE = re.compile(r"[\s().]")


def _narrow(text: str) -> str:
    """Full-width digits, letters, `＋` and `－` as their ASCII forms (NFKC), no spaces."""
    return _SPACES.sub("", unicodedata.normalize("NFKC", text))


def check_char(first17: str) -> str:
    """The check character the first 17 digits call for."""
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def normalise_id_number(raw: str) -> str:
    """ASCII, upper case (the check letter X), without spaces: `１１０１ ０５…x` -> `110105…X`."""
    return _narrow(raw).upper()


def check_id_number(raw: str, today: date | None = None) -> str:
    """The ID number in its one form, or DomainError saying what is wrong with it (its form, its
    birth date, its check character), never repeating it."""
    value = normalise_id_number(raw)
    if not ID_FORM.match(value):
        raise DomainError("party_id_number",
                          N_("the ID number is not 18 characters of the right form"))
    try:
        born = date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        born = None
    if born is None or born < EARLIEST_BIRTH or (today is not None and born > today):
        raise DomainError("party_id_birth",
                          N_("the birth date in the ID number (characters 7 to 14) is not a "
                             "valid date"))
    if check_char(value[:17]) != value[17]:
        raise DomainError("party_id_check",
                          N_("the ID number's last character does not match the others: a "
                             "digit was probably mistyped"))
    return value


def normalise_phone(raw: str) -> str:
    """One form for a phone number: ASCII digits, no spaces, no country code (`+86`, `0086`,
    `86` before a mobile number); a mobile number without hyphens, a landline with the hyphen
    it was given after its area code. `+86 571 8888 8888` -> `057188888888`."""
    value = _PHONE_NOISE.sub("", unicodedata.normalize("NFKC", raw))
    value = re.sub(r"-+", "-", value).strip("-")
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix):].lstrip("-")
            if value and value[0] != "1" and value[0] != "0":  # a landline drops its 0 abroad
                value = "0" + value
            break
    else:
        if value.startswith("86") and re.fullmatch(r"861[0-9]{10}", value.replace("-", "")):
            value = value[2:].lstrip("-")
    digits = value.replace("-", "")
    if len(digits) == 11 and digits.startswith("1"):
        return digits
    return value


def check_phone(raw: str) -> str:
    """The phone number in its one form, or DomainError (one sentence, without the number)."""
    value = normalise_phone(raw)
    if not PHONE_FORM.match(value):
        raise DomainError("party_phone", N_("the phone number is not valid"))
    return value


def phone_digits(value: str) -> str:
    """Only the digits of a normalised phone number (what a search compares)."""
    return value.replace("-", "")
