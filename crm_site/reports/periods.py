"""The dashboard's period and scope, read from the URL: `?period=week|month|quarter|year|custom&date=…` (the
period containing that day, today by default) or `?period=custom&from=YYYY-MM-DD&to=YYYY-MM-DD` (both days
included), and `?scope=me|department|all`. Every period has a previous one of the same kind to compare with."""

import datetime
from dataclasses import dataclass

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

PERIODS = {"week": _("Week"), "month": _("Month"), "quarter": _("Quarter"), "year": _("Year"),
           "custom": _("Custom")}
SCOPES = {"me": _("Me"), "department": _("My department"), "all": _("Everyone I may see")}
DEFAULT_PERIOD, DEFAULT_SCOPE = "month", "all"
MAX_CUSTOM_DAYS = 3660


def _month_start(day, months_back=0):
    index = day.year * 12 + day.month - 1 - months_back
    return datetime.date(index // 12, index % 12 + 1, 1)


def _add_months(day, months):
    return _month_start(day, -months)


@dataclass(frozen=True)
class Period:
    kind: str
    first: datetime.date  # first day, included
    end: datetime.date  # the day after the last one

    @property
    def last(self):
        return self.end - datetime.timedelta(days=1)

    @property
    def days(self):
        return (self.end - self.first).days

    @property
    def start_dt(self):
        return _local_midnight(self.first)

    @property
    def end_dt(self):
        return _local_midnight(self.end)

    def previous(self):
        if self.kind == "custom":
            return Period("custom", self.first - datetime.timedelta(days=self.days), self.first)
        return period_of(self.kind, self.first - datetime.timedelta(days=1))

    def next(self):
        if self.kind == "custom":
            return Period("custom", self.end, self.end + datetime.timedelta(days=self.days))
        return period_of(self.kind, self.end)

    def elapsed_share(self, now=None):
        """Share of the period gone by at `now` (0…1): the run-rate forecast divides by it."""
        now = now or timezone.now()
        total = (self.end_dt - self.start_dt).total_seconds()
        gone = (min(max(now, self.start_dt), self.end_dt) - self.start_dt).total_seconds()
        return gone / total if total else 1.0

    def label(self):
        if self.kind == "month":
            return date_format(self.first, "F Y")
        if self.kind == "year":
            return str(self.first.year)
        if self.kind == "quarter":
            return _("Q%(number)s %(year)s") % {"number": (self.first.month - 1) // 3 + 1, "year": self.first.year}
        return f"{date_format(self.first, 'SHORT_DATE_FORMAT')} – {date_format(self.last, 'SHORT_DATE_FORMAT')}"

    def params(self):
        """The list filters selecting records created (or closed) in this period."""
        return {"from": self.first.isoformat(), "to": self.last.isoformat()}


def _local_midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def period_of(kind, day):
    """The calendar week (from Monday), month, quarter or year containing `day`."""
    if kind == "week":
        first = day - datetime.timedelta(days=day.weekday())
        return Period(kind, first, first + datetime.timedelta(days=7))
    if kind == "quarter":
        first = datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
        return Period(kind, first, _add_months(first, 3))
    if kind == "year":
        return Period(kind, datetime.date(day.year, 1, 1), datetime.date(day.year + 1, 1, 1))
    first = _month_start(day)
    return Period("month", first, _add_months(first, 1))


def parse_period(params, today=None):
    """The period asked for in `params` (a QueryDict or dict); anything invalid falls back to this month."""
    today = today or timezone.localdate()
    kind = params.get("period") or DEFAULT_PERIOD
    if kind == "custom":
        first, last = _date(params.get("from")), _date(params.get("to"))
        if first and last and first <= last and (last - first).days < MAX_CUSTOM_DAYS:
            return Period("custom", first, last + datetime.timedelta(days=1))
        kind = DEFAULT_PERIOD
    if kind not in PERIODS:
        kind = DEFAULT_PERIOD
    return period_of(kind, _date(params.get("date")) or today)


def parse_scope(params):
    scope = params.get("scope") or DEFAULT_SCOPE
    return scope if scope in SCOPES else DEFAULT_SCOPE


def _date(value):
    try:
        day = parse_date(str(value or "")[:10])
    except ValueError:
        return None
    if day is None or not (datetime.date(1900, 1, 1) <= day <= datetime.date(2999, 12, 31)):
        return None
    return day
