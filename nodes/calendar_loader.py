"""Load the operator's yearly holiday TOML files into the domain's `WorkingDays`.

The files are hand-edited from the State Council's annual notice, so every mistake is reported
as one sentence naming the file and the field; a bad calendar must never load silently.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    ValidationError,
    field_validator,
)

from nodes.domain.calendar import HolidayCalendar, WorkingDays

#: The folder shipped with the package (holds only a SAMPLE file until the operator adds theirs).
SHIPPED_HOLIDAY_DIR = Path(__file__).parent / "data" / "holidays"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CalendarError(ValueError):
    """A holiday calendar file is missing data, malformed or self-contradictory."""


class _CalendarFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    year: StrictInt = Field(ge=1949, le=9998)
    source: str = Field(min_length=1)
    sample: StrictBool
    holidays: list[date]
    makeup_workdays: list[date] = Field(default_factory=list)

    @field_validator("source", mode="before")
    @classmethod
    def _source_is_text(cls, value: Any) -> Any:
        if not isinstance(value, str) or not value.strip():
            raise ValueError("must be a non-empty text saying where the dates come from")
        return value

    @field_validator("holidays", "makeup_workdays", mode="before")
    @classmethod
    def _iso_dates_only(cls, value: Any) -> Any:
        """Accept "YYYY-MM-DD" strings or TOML dates; refuse numbers and date-times."""
        if not isinstance(value, list):
            raise ValueError("must be a list of dates")
        parsed: list[date] = []
        for item in value:
            if isinstance(item, date) and not isinstance(item, datetime):
                parsed.append(item)
            elif isinstance(item, str) and _ISO_DATE.fullmatch(item):
                try:
                    parsed.append(date.fromisoformat(item))
                except ValueError:
                    raise ValueError(f"has {item!r}, which is not a real date") from None
            else:
                raise ValueError(f"has {item!r}, which is not a YYYY-MM-DD date")
        return parsed


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    field = ".".join(str(part) for part in err["loc"]) or "(top level)"
    if err["type"] == "missing":
        return f"field '{field}' is missing"
    if err["type"] == "extra_forbidden":
        return f"field '{field}' is not allowed (unknown field)"
    if err["type"] == "value_error":
        return f"field '{field}' {err['msg'].removeprefix('Value error, ')}"
    msg = err["msg"]
    return f"field '{field}': {msg[:1].lower()}{msg[1:]}"


def load_calendar_file(path: str | Path) -> HolidayCalendar:
    """Parse and check one year's file; raise `CalendarError` with one sentence if wrong."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise CalendarError(f"Calendar file {path} cannot be read: {exc.strerror}.") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise CalendarError(f"Calendar file {path} is not valid TOML: {exc}.") from exc
    try:
        parsed = _CalendarFile.model_validate(raw)
    except ValidationError as exc:
        raise CalendarError(f"Calendar file {path} is invalid: {_first_error(exc)}.") from None
    for field in ("holidays", "makeup_workdays"):
        dupes = sorted(d for d, n in Counter(getattr(parsed, field)).items() if n > 1)
        if dupes:
            raise CalendarError(
                f"Calendar file {path} is invalid: field '{field}' lists "
                f"{dupes[0].isoformat()} more than once."
            )
    try:
        return HolidayCalendar(
            year=parsed.year,
            holidays=frozenset(parsed.holidays),
            makeup_workdays=frozenset(parsed.makeup_workdays),
            source=parsed.source.strip(),
            is_sample=parsed.sample,
        )
    except ValueError as exc:
        raise CalendarError(f"Calendar file {path} is invalid: {exc}.") from None


def load_calendar_dir(path: str | Path) -> WorkingDays:
    """Load every `*.toml` in a folder; a missing folder means weekends-only counting."""
    folder = Path(path)
    if not folder.exists():
        return WorkingDays.empty()
    if not folder.is_dir():
        raise CalendarError(f"Holiday calendar path {folder} is not a folder.")
    seen: dict[int, Path] = {}
    calendars: list[HolidayCalendar] = []
    for file in sorted(folder.glob("*.toml")):
        cal = load_calendar_file(file)
        if cal.year in seen:
            raise CalendarError(
                f"Calendar files {seen[cal.year]} and {file} both define year {cal.year}; "
                "keep only one."
            )
        seen[cal.year] = file
        calendars.append(cal)
    return WorkingDays(calendars)
