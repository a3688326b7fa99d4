"""The statutory holidays of 全国年节及纪念日放假办法 (as revised in 2024, in force from 2025-01-01).

Used only for a year with no State Council arrangement installed: a deadline counted with these
days alone is *provisional* (the arrangement adds 调休, moves days off and makes weekends working
days), and is recomputed when the arrangement is installed (DOMAIN §5).

The Measures fix 13 days a year (Art. 2): 元旦 1 January; 春节 农历除夕 and 正月初一 to 初三; 清明节
(the day of the solar term); 劳动节 1 and 2 May; 端午节 农历五月初五; 中秋节 农历八月十五; 国庆节 1 to
3 October. The fixed-date ones are known for every year from 2025 on. The lunar and solar-term
dates are taken from `LUNAR_DATES` below, a table of known dates, not computed here: for a year
outside it the lunar holidays are left out, and the note says so.

Source of `LUNAR_DATES`: the dates were generated and cross-checked with four independent
implementations, which agree on every entry: lunardate 0.3.0 (tables derived from the Hong Kong
Observatory's Gregorian-lunar conversion tables), sxtwl 2.0.7 (寿星天文历), holidays 0.109 (its
China calendar), and, for 清明, ephem 4.2.1 (the day, in Beijing time, on which the sun reaches
apparent ecliptic longitude 15°). The 2026 entry also agrees with the State Council's arrangement
for 2026 (国办发明电〔2025〕7号; `tests/unit/test_clocks_calendar.py` checks it).
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

#: First year of the 2024 revision (国务院令第795号, in force 2025-01-01).
FIRST_YEAR = 2025

#: year -> (正月初一, 清明, 端午 农历五月初五, 中秋 农历八月十五) as "MM-DD"; 除夕 is the day before 初一.
LUNAR_DATES: dict[int, tuple[str, str, str, str]] = {
    2025: ("01-29", "04-04", "05-31", "10-06"),
    2026: ("02-17", "04-05", "06-19", "09-25"),
    2027: ("02-06", "04-05", "06-09", "09-15"),
    2028: ("01-26", "04-04", "05-28", "10-03"),
    2029: ("02-13", "04-04", "06-16", "09-22"),
    2030: ("02-03", "04-05", "06-05", "09-12"),
    2031: ("01-23", "04-05", "06-24", "10-01"),
    2032: ("02-11", "04-04", "06-12", "09-19"),
    2033: ("01-31", "04-04", "06-01", "09-08"),
    2034: ("02-19", "04-05", "06-20", "09-27"),
    2035: ("02-08", "04-05", "06-10", "09-16"),
    2036: ("01-28", "04-04", "05-30", "10-04"),
    2037: ("02-15", "04-04", "06-18", "09-24"),
    2038: ("02-04", "04-05", "06-07", "09-13"),
    2039: ("01-24", "04-05", "05-27", "10-02"),
    2040: ("02-12", "04-04", "06-14", "09-20"),
}

_FIXED = ("01-01", "05-01", "05-02", "10-01", "10-02", "10-03")


def covers(year: int) -> bool:
    """True when the Measures as revised in 2024 apply to `year` (2025 on)."""
    return year >= FIRST_YEAR


def lunar_known(year: int) -> bool:
    """True when the lunar and solar-term holidays of `year` are in the table."""
    return year in LUNAR_DATES


@cache
def statutory_days(year: int) -> frozenset[date]:
    """The statutory days off of `year` that can be named without the annual arrangement (empty
    before 2025; the fixed-date ones only for a year outside `LUNAR_DATES`)."""
    if not covers(year):
        return frozenset()
    days = {date.fromisoformat(f"{year}-{md}") for md in _FIXED}
    if year in LUNAR_DATES:
        new_year, qingming, duanwu, zhongqiu = (date.fromisoformat(f"{year}-{md}")
                                                for md in LUNAR_DATES[year])
        days |= {new_year + timedelta(days=i) for i in range(-1, 3)}  # 除夕 to 初三
        days |= {qingming, duanwu, zhongqiu}
    return frozenset(days)
