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

from nodes.domain.calendar import CalendarInvalid, HolidayCalendar, WorkingDays
from protocol.text import N_, Phrase, Translatable

#: The folder shipped with the package: the State Council's arrangements checked against their
#: published text (2026 on), one file a year. Every node counts with them (`load_node_calendars`).
SHIPPED_HOLIDAY_DIR = Path(__file__).parent / "data" / "holidays"
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


class CalendarError(Translatable, ValueError):
    """A holiday calendar file is missing data, malformed or self-contradictory."""


class _FieldProblem(Translatable, ValueError):
    """A value of a calendar file's field is wrong (raised inside validation)."""


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
            raise _FieldProblem("calendar_source", N_(
                "must be a non-empty text saying where the dates come from"))
        return value

    @field_validator("holidays", "makeup_workdays", mode="before")
    @classmethod
    def _iso_dates_only(cls, value: Any) -> Any:
        """Accept "YYYY-MM-DD" strings or TOML dates; refuse numbers and date-times."""
        if not isinstance(value, list):
            raise _FieldProblem("calendar_list", N_("must be a list of dates"))
        parsed: list[date] = []
        for item in value:
            if isinstance(item, date) and not isinstance(item, datetime):
                parsed.append(item)
            elif isinstance(item, str) and _ISO_DATE.fullmatch(item):
                try:
                    parsed.append(date.fromisoformat(item))
                except ValueError:
                    raise _FieldProblem("calendar_date", N_("has {value}, which is not a real date"),
                                        value=repr(item)) from None
            else:
                raise _FieldProblem("calendar_iso", N_("has {value}, which is not a YYYY-MM-DD date"),
                                    value=repr(item))
        return parsed


def _first_error(exc: ValidationError) -> Phrase:
    """The first problem pydantic found, as a phrase naming the field."""
    err = exc.errors()[0]
    field = ".".join(str(part) for part in err["loc"]) or "(top level)"
    if err["type"] == "missing":
        return Phrase(N_("field '{field}' is missing"), field=field)
    if err["type"] == "extra_forbidden":
        return Phrase(N_("field '{field}' is not allowed (unknown field)"), field=field)
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, Translatable):
        return Phrase(N_("field '{field}' {problem}"), field=field, problem=cause)
    return Phrase(N_("field '{field}' does not have an allowed value"), field=field)


def _invalid(path: Path, detail: object) -> CalendarError:
    return CalendarError("calendar_invalid", N_("Calendar file {path} is invalid: {detail}."),
                         path=str(path), detail=detail)


def load_calendar_file(path: str | Path) -> HolidayCalendar:
    """Parse and check one year's file; raise `CalendarError` with one sentence if wrong."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            raw = tomllib.load(fh)
    except OSError as exc:
        raise CalendarError("calendar_unreadable", N_("Calendar file {path} cannot be read."),
                            path=str(path)) from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        line = re.search(r"line (\d+)", str(exc))
        raise CalendarError("calendar_toml", N_("Calendar file {path} is not valid TOML (line "
                                                "{line})."),
                            path=str(path), line=line.group(1) if line else "?") from exc
    try:
        parsed = _CalendarFile.model_validate(raw)
    except ValidationError as exc:
        raise _invalid(path, _first_error(exc)) from None
    for field in ("holidays", "makeup_workdays"):
        dupes = sorted(d for d, n in Counter(getattr(parsed, field)).items() if n > 1)
        if dupes:
            raise _invalid(path, Phrase(N_("field '{field}' lists {date} more than once"),
                                        field=field, date=dupes[0].isoformat()))
    try:
        return HolidayCalendar(
            year=parsed.year,
            holidays=frozenset(parsed.holidays),
            makeup_workdays=frozenset(parsed.makeup_workdays),
            source=parsed.source.strip(),
            is_sample=parsed.sample,
        )
    except CalendarInvalid as exc:
        raise _invalid(path, exc) from None


def load_calendar_dir(path: str | Path) -> WorkingDays:
    """Load every `*.toml` in a folder; a missing folder means weekends-only counting."""
    folder = Path(path)
    if not folder.exists():
        return WorkingDays.empty()
    if not folder.is_dir():
        raise CalendarError("calendar_not_folder", N_("Holiday calendar path {path} is not a "
                                                      "folder."), path=str(folder))
    seen: dict[int, Path] = {}
    calendars: list[HolidayCalendar] = []
    for file in sorted(folder.glob("*.toml")):
        cal = load_calendar_file(file)
        if cal.year in seen:
            raise CalendarError("calendar_two_files", N_(
                "Calendar files {first} and {second} both define year {year}; keep only one."),
                first=str(seen[cal.year]), second=str(file), year=cal.year)
        seen[cal.year] = file
        calendars.append(cal)
    return WorkingDays(calendars)


def load_node_calendars(operator_dir: str | Path | None,
                        shipped_dir: str | Path = SHIPPED_HOLIDAY_DIR) -> WorkingDays:
    """The shipped official arrangements, overridden year by year by the operator's folder
    (`calendar_dir`: a corrected or later year), except that an operator's sample never replaces
    an official arrangement."""
    shipped = _by_year(load_calendar_dir(shipped_dir))
    merged = {year: cal for year, cal in shipped.items() if not cal.is_sample}
    if operator_dir is not None:
        for year, cal in _by_year(load_calendar_dir(operator_dir)).items():
            if not (cal.is_sample and year in merged):
                merged[year] = cal
    return WorkingDays(merged.values())


def _by_year(days: WorkingDays) -> dict[int, HolidayCalendar]:
    return {year: cal for year in days.years if (cal := days.calendar_for(year)) is not None}
