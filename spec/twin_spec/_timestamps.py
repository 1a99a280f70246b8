"""UTC timestamps as ISO-8601 text, computed by calendar arithmetic (the spec core has no clock).

Credentials write dates as ``YYYY-MM-DDTHH:MM:SS.mmmZ``, as the TWIN node does; JWTs carry
whole seconds. Years 1970 to 9999 only: nothing TWIN dates falls outside them.
"""

from __future__ import annotations

import re

from twin_spec._errors import TwinSpecError

MAX_SECONDS = 253402300799  # 9999-12-31T23:59:59Z
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})\Z"
)


def iso_from_ms(ms: int) -> str:
    """Format milliseconds since the epoch as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    if not isinstance(ms, int) or isinstance(ms, bool) or not 0 <= ms < (MAX_SECONDS + 1) * 1000:
        raise TwinSpecError(f"timestamp {ms!r} ms is not an integer from 0 to year 9999")
    seconds, millis = divmod(ms, 1000)
    days, rest = divmod(seconds, 86400)
    year, month, day = _civil_from_days(days)
    hour, rest = divmod(rest, 3600)
    minute, second = divmod(rest, 60)
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}.{millis:03d}Z"


def seconds_from_iso(text: str) -> int:
    """Read an ISO-8601 date-time with a zone as whole seconds since the epoch, fraction dropped."""
    match = _ISO.match(text) if isinstance(text, str) else None
    if match is None:
        raise TwinSpecError(f"{text!r} is not an ISO-8601 date-time with a time zone")
    year, month, day, hour, minute, second = (int(match[i]) for i in range(1, 7))
    days = _days_from_civil(year, month, day)
    if _civil_from_days(days) != (year, month, day) or hour > 23 or minute > 59 or second > 59:
        raise TwinSpecError(f"{text!r} is not a real date and time")
    offset = 0
    if match[8] != "Z":
        sign = -1 if match[8][0] == "-" else 1
        offset = sign * (int(match[8][1:3]) * 3600 + int(match[8][4:6]) * 60)
    seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset
    if not 0 <= seconds <= MAX_SECONDS:
        raise TwinSpecError(f"{text!r} is outside the years 1970 to 9999")
    return seconds


def _days_from_civil(year: int, month: int, day: int) -> int:
    """Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm)."""
    year -= month <= 2
    era = year // 400
    year_of_era = year - era * 400
    day_of_year = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    day_of_era = year_of_era * 365 + year_of_era // 4 - year_of_era // 100 + day_of_year
    return era * 146097 + day_of_era - 719468


def _civil_from_days(days: int) -> tuple[int, int, int]:
    """The proleptic Gregorian date of a day count since 1970-01-01."""
    days += 719468
    era = days // 146097
    day_of_era = days - era * 146097
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + (3 if shifted_month < 10 else -9)
    return year_of_era + era * 400 + (month <= 2), month, day
