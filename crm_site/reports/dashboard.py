"""The dashboard as the page shows it and the export writes it: the figures of `selectors`, labelled, with the
link of every number to the list of exactly the records it counts.

Each block is a `Table` (its chart is drawn from the same rows), so the page, the CSV/XLSX export and the tests
read one structure. The figures are cached per user, period, scope and pipeline for a minute.
"""

import hashlib
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.formats import number_format
from django.utils.html import conditional_escape, format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access.scopes import EXPORT, READ, scope_q
from crm_site.registry import registry

from . import selectors
from .periods import PERIODS, SCOPES, parse_period, parse_scope

CACHE_SECONDS = 60
TABLES = ("new", "sources", "statuses", "conversion", "funnel", "won", "lost", "stuck", "plan", "activities")


@dataclass
class Cell:
    text: str
    href: str = ""
    value: object = None  # the typed value written to the export (a number stays a number)
    lines: list = None  # [(text, href)]: one line each (amounts per currency), `text` holds them joined

    def __str__(self):
        return self.__html__()  # the template prints str(cell): the rendered cell; exports read `text`

    def __html__(self):
        """The cell as the page shows it (rendered here, not by the template: a big table stays cheap)."""
        if self.lines:
            return mark_safe("<br>".join(  # noqa: S308 (every part escaped by format_html)
                format_html('<a href="{}">{}</a>', href, text) if href else conditional_escape(text)
                for text, href in self.lines))
        if self.href:
            return format_html('<a href="{}">{}</a>', self.href, self.text)
        return conditional_escape(self.text)


@dataclass
class Table:
    name: str
    title: str
    columns: list
    rows: list = field(default_factory=list)  # [[Cell]]
    chart: list = field(default_factory=list)  # [{"label", "value", "href", "text"}]
    entity: str = ""  # the export right this table needs ("" = an export right on any record type)
    note: str = ""
    empty: str = ""

    def chart_rows(self):
        top = max((row["value"] for row in self.chart), default=0) or 1
        return [{**row, "width": round(row["value"] / top * 100, 1) if row["value"] else 0, "y": index * 26}
                for index, row in enumerate(self.chart)]

    @property
    def chart_height(self):
        return max(len(self.chart), 1) * 26


def _number(value, digits=0):
    if value is None:
        return "—"
    return number_format(value, decimal_pos=digits, use_l10n=True, force_grouping=True)


def _percent(value):
    return "—" if value is None else f"{_number(value * 100, 1)} %"


def _change(current, previous):
    if not previous:
        return None
    return (current - previous) / previous


def _money(amount, code):
    return f"{_number(amount, 2)} {code}"


class Links:
    """List URLs with the dashboard's scope and period."""

    def __init__(self, scope, period):
        self.scope, self.period = scope, period

    def base(self, period=None):
        params = {"scope": self.scope} if self.scope != "all" else {}
        return params

    def created(self, key, period=None, **params):
        period = period or self.period
        return self._url(key, {**self.base(), "created_from": period.first.isoformat(),
                               "created_to": period.last.isoformat(), **params})

    def closed(self, period=None, **params):
        period = period or self.period
        return self._url("deal", {**self.base(), "closed_from": period.first.isoformat(),
                                  "closed_to": period.last.isoformat(), **params})

    def deals(self, **params):
        return self._url("deal", {**self.base(), **params})

    def activities(self, **params):
        query = {"period": "custom", "from": self.period.first.isoformat(), "to": self.period.last.isoformat(),
                 "scope": self.scope, **params}
        return reverse("reports_activities") + "?" + urlencode(query)

    @staticmethod
    def _url(key, params):
        params = {name: value for name, value in params.items() if value is not None and value != ""}
        return reverse(f"{key}_list") + ("?" + urlencode(params) if params else "")


def _names(model, ids):
    return {obj.pk: str(obj) for obj in model.objects.filter(pk__in=[pk for pk in ids if pk is not None])}


def _cache_key(user, period, scope, pipeline_id):
    raw = f"{user.pk}:{period.kind}:{period.first}:{period.end}:{scope}:{pipeline_id}:{translation.get_language()}"
    return "reports:dashboard:" + hashlib.sha1(raw.encode()).hexdigest()  # noqa: S324 (a cache key)


def figures(user, period, scope, pipeline, *, use_cache=True):
    """The raw figures of the dashboard (selectors' output), cached per user, period, scope and pipeline."""
    key = _cache_key(user, period, scope, pipeline.pk if pipeline else None)
    if use_cache:
        found = cache.get(key)
        if found is not None:
            return found
    previous = period.previous()
    with selectors.report_queries():
        data = _compute(user, period, previous, scope, pipeline)
    if use_cache:
        cache.set(key, data, CACHE_SECONDS)
    return data


def _compute(user, period, previous, scope, pipeline):
    return {
        "new": selectors.new_records(user, scope, period, previous),
        "sources": selectors.leads_by(user, scope, period, previous, "source"),
        "statuses": selectors.leads_by(user, scope, period, previous, "status"),
        "conversion": selectors.lead_conversion(user, scope, period),
        "funnel": selectors.funnel(user, scope, period, pipeline) if pipeline else None,
        "closed": selectors.closed_deals(user, scope, period, previous),
        "stuck": selectors.stuck_deals(user, scope),
        "plan": selectors.sales_plan(user, scope, period),
        "activities": selectors.activities(user, scope, period),
        "computed_at": timezone.now(),
    }


def pipelines():
    from deals.models import Pipeline

    return list(Pipeline.objects.filter(is_active=True).order_by("-is_default", "order", "pk"))


def chosen_pipeline(params, available):
    wanted = str(params.get("pipeline") or "")
    return next((p for p in available if str(p.pk) == wanted), available[0] if available else None)


def build(user, params, *, use_cache=True):
    """Everything the dashboard shows for the query string `params` (period, scope, pipeline)."""
    from crm_site.models import Currency, Source
    from deals.models import LostReason, Stage
    from leads.models import LeadStatus

    period, scope = parse_period(params), parse_scope(params)
    previous = period.previous()
    available = pipelines()
    pipeline = chosen_pipeline(params, available)
    data = figures(user, period, scope, pipeline, use_cache=use_cache)
    links = Links(scope, period)
    currencies = {c.pk: c.code.upper() for c in Currency.objects.all()}
    readable = {entity.key for entity in registry if scope_q(user, entity.model, READ) is not None}
    tables = {}

    # New records
    table = Table("new", _("New records"), [_("Record type"), _("This period"), _("Previous period"),
                                            _("Change")])
    for item in data["new"]:
        entity = registry[item["entity"]]
        if entity.key not in readable:
            continue
        label = str(entity.verbose_name_plural).capitalize()
        href = links.created(entity.key)
        table.rows.append([Cell(label), Cell(_number(item["current"]), href, item["current"]),
                           Cell(_number(item["previous"]), links.created(entity.key, previous), item["previous"]),
                           Cell(_percent(_change(item["current"], item["previous"])), "",
                                _change(item["current"], item["previous"]))])
        table.chart.append({"label": label, "value": item["current"], "href": href, "text": _number(item["current"])})
    tables["new"] = table

    # Leads by source and status
    sources = _names(Source, [row["id"] for row in data["sources"]])
    statuses = _names(LeadStatus, [row["id"] for row in data["statuses"]])
    for name, title, names, field_name, column, rows in (
            ("sources", _("Leads by source"), sources, "source", _("Source"), data["sources"]),
            ("statuses", _("Leads by status"), statuses, "status", _("Status"), data["statuses"])):
        table = Table(name, title, [column, _("This period"), _("Previous period")],
                      entity="lead", empty=_("No leads in this period."))
        for row in sorted(rows, key=lambda r: -r["current"]):
            label = names.get(row["id"], _("(none)")) if row["id"] else _("(none)")
            value = row["id"] if row["id"] else "null"
            href = links.created("lead", **{field_name: value})
            table.rows.append([Cell(label), Cell(_number(row["current"]), href, row["current"]),
                               Cell(_number(row["previous"]), links.created("lead", previous, **{field_name: value}),
                                    row["previous"])])
            if row["current"]:
                table.chart.append({"label": label, "value": row["current"], "href": href,
                                    "text": _number(row["current"])})
        tables[name] = table

    # Lead conversion
    conversion = data["conversion"]
    table = Table("conversion", _("Lead conversion"), [_("Figure"), _("Value")], entity="lead",
                  note=_("Leads created in the period; converted ones are those converted since."))
    table.rows = [
        [Cell(_("Leads created")), Cell(_number(conversion["created"]), links.created("lead"), conversion["created"])],
        [Cell(_("Converted")), Cell(_number(conversion["converted"]), links.created("lead", converted="true"),
                                    conversion["converted"])],
        [Cell(_("Conversion rate")), Cell(_percent(conversion["rate"]), "", conversion["rate"])],
        [Cell(_("Average days to conversion")), Cell(_number(conversion["days"], 1), "", conversion["days"])],
    ]
    tables["conversion"] = table

    # Funnel
    funnel = data["funnel"]
    table = Table("funnel", _("Deal funnel: %(pipeline)s") % {"pipeline": pipeline} if pipeline else _("Deal funnel"),
                  [_("Stage"), _("Passed"), _("Amount"), _("Conversion from the previous stage"), _("Drop-off"),
                   _("In the stage now")], entity="deal",
                  note=_("Deals of the pipeline created in the period; a deal that skipped a stage counts as "
                         "passing it."), empty=_("No deals in this period."))
    if funnel:
        stage_names = {s.pk: str(s) for s in Stage.objects.filter(pipeline=pipeline)}
        for step in funnel["steps"]:
            label = stage_names.get(step["stage_id"], "")
            href = links.created("deal", pipeline=pipeline.pk, passed_stage=step["stage_id"])
            now_href = links.created("deal", pipeline=pipeline.pk, stage=step["stage_id"])
            table.rows.append([
                Cell(label), Cell(_number(step["count"]), href, step["count"]),
                Cell("\n".join(_money(a["amount"], currencies.get(a["currency_id"], "")) for a in step["amounts"])
                     or "—", lines=[(_money(a["amount"], currencies.get(a["currency_id"], "")),
                                     links.created("deal", pipeline=pipeline.pk, passed_stage=step["stage_id"],
                                                   currency=a["currency_id"])) for a in step["amounts"]]),
                Cell(_percent(step["conversion"]), "", step["conversion"]),
                Cell(_percent(step["drop_off"]), "", step["drop_off"]),
                Cell(_number(step["now"]), now_href, step["now"]),
            ])
            table.chart.append({"label": label, "value": step["count"], "href": href,
                                "text": _number(step["count"])})
        for lost in funnel["lost"]:
            lines = [(_money(a["amount"], currencies.get(a["currency_id"], "")), "") for a in lost["now_amounts"]]
            table.rows.append([Cell(stage_names.get(lost["stage_id"], "")), Cell("—"),
                               Cell("\n".join(text for text, _href in lines) or "—", lines=lines), Cell("—"), Cell("—"),
                Cell(_number(lost["now"]), links.created("deal", pipeline=pipeline.pk, stage=lost["stage_id"]),
                     lost["now"])])
        if not funnel["total"]:
            table.rows, table.chart = [], []
    tables["funnel"] = table

    # Won deals
    closed, closed_before = data["closed"]["current"], data["closed"]["previous"]
    won, won_before = closed["won"], closed_before["won"]
    table = Table("won", _("Deals won"), [_("Figure"), _("This period"), _("Previous period")], entity="deal",
                  note=_("Deals whose last move into a won or lost stage happened in the period."))
    table.rows.append([Cell(_("Won deals")), Cell(_number(won["count"]), links.closed(outcome="won"), won["count"]),
                       Cell(_number(won_before["count"]), links.closed(previous, outcome="won"), won_before["count"])])

    def per_currency(amounts, key, period=None):
        lines = [(_money(a[key], currencies.get(a["currency_id"], "")),
                  links.closed(period, outcome="won", currency=a["currency_id"]) if key == "amount" else "")
                 for a in amounts]
        return Cell("\n".join(text for text, _href in lines) or "—", lines=lines)

    table.rows.append([Cell(_("Amount")), per_currency(won["amounts"], "amount"),
                       per_currency(won_before["amounts"], "amount", previous)])
    table.rows.append([Cell(_("Average deal")), per_currency(won["amounts"], "average"),
                       per_currency(won_before["amounts"], "average", previous)])
    table.chart = [
        {"label": _("Won"), "value": won["count"], "href": links.closed(outcome="won"), "text": _number(won["count"])},
        {"label": _("Lost"), "value": closed["lost"]["count"], "href": links.closed(outcome="lost"),
         "text": _number(closed["lost"]["count"])},
    ]
    table.rows.append([Cell(_("Lost deals")), Cell(_number(closed["lost"]["count"]), links.closed(outcome="lost"),
                                                   closed["lost"]["count"]),
                       Cell(_number(closed_before["lost"]["count"]), links.closed(previous, outcome="lost"),
                            closed_before["lost"]["count"])])
    table.rows.append([Cell(_("Win rate")), Cell(_percent(closed["rate"]), "", closed["rate"]),
                       Cell(_percent(closed_before["rate"]), "", closed_before["rate"])])
    table.rows.append([Cell(_("Average days to close")), Cell(_number(won["days"], 1), "", won["days"]),
                       Cell(_number(won_before["days"], 1), "", won_before["days"])])
    tables["won"] = table

    # Lost by reason
    reasons = _names(LostReason, [r["id"] for r in closed["reasons"]])
    table = Table("lost", _("Lost deals by reason"), [_("Reason"), _("Deals")], entity="deal",
                  empty=_("No deals lost in this period."))
    for item in closed["reasons"]:
        label = reasons.get(item["id"], _("(none)")) if item["id"] else _("(no reason given)")
        href = links.closed(outcome="lost", lost_reason=item["id"] or "null")
        table.rows.append([Cell(label), Cell(_number(item["count"]), href, item["count"])])
        table.chart.append({"label": label, "value": item["count"], "href": href, "text": _number(item["count"])})
    tables["lost"] = table

    # Stuck deals
    from deals.models import Pipeline

    rules = {p.pk: (p, getattr(getattr(p, "stuck_rule", None), "days", None))
             for p in Pipeline.objects.select_related("stuck_rule")}
    stage_names = _names(Stage, [row["stage_id"] for row in data["stuck"]])
    table = Table("stuck", _("Stuck deals"), [_("Pipeline"), _("Stage"), _("Days without a move"), _("Deals")],
                  entity="deal", empty=_("No stuck deals."),
                  note=_("Deals in an open stage that have not moved for longer than their pipeline's rule "
                         "(Administration → Stuck deal rules)."))
    from .models import DEFAULT_STUCK_DAYS

    for row in data["stuck"]:
        pipeline_obj, days = rules.get(row["pipeline_id"], (None, None))
        href = links.deals(stuck="true", pipeline=row["pipeline_id"], stage=row["stage_id"])
        label = f"{pipeline_obj} · {stage_names.get(row['stage_id'], '')}"
        table.rows.append([Cell(str(pipeline_obj or "")), Cell(stage_names.get(row["stage_id"], "")),
                           Cell(_number(days or DEFAULT_STUCK_DAYS), "", days or DEFAULT_STUCK_DAYS),
                           Cell(_number(row["count"]), href, row["count"])])
        table.chart.append({"label": label, "value": row["count"], "href": href, "text": _number(row["count"])})
    tables["stuck"] = table

    # Sales plan
    table = Table("plan", _("Sales plan"), [_("Plan for"), _("Period"), _("Measure"), _("Target"), _("Actual"),
                                            _("Done"), _("Forecast to the period's end"),
                                            _("Managers' targets (sum)"), _("Managers' actual (sum)")],
                  entity="deal", empty=_("No targets for this period (Administration → Sales targets)."))
    for item in data["plan"]:
        target = item["target"]
        code = currencies.get(target.currency_id, "") if target.metric == "amount" else ""

        def show(value, code=code, metric=target.metric):
            return _money(value, code) if metric == "amount" else _number(value)

        params = {"outcome": "won"}
        if target.metric == "amount":
            params["currency"] = target.currency_id
        if target.pipeline_id:
            params["pipeline"] = target.pipeline_id
        if target.manager_id:
            params["owner"] = target.manager_id
        if target.department_id:
            params["department"] = target.department_id
        href = Links("all", item["period"]).closed(**params)
        managers = item["managers"]
        table.rows.append([
            Cell(target.subject_label()), Cell(item["period"].label()), Cell(str(target.get_metric_display())),
            Cell(show(item["value"]), "", item["value"]), Cell(show(item["actual"]), href, item["actual"]),
            Cell("—" if item["percent"] is None else f"{_number(item['percent'], 1)} %", "", item["percent"]),
            Cell(show(item["forecast"]) if item["forecast"] is not None else "—", "", item["forecast"]),
            Cell(show(managers["value"]) if managers and managers["count"] else "—", "",
                 managers["value"] if managers else None),
            Cell(show(managers["actual"]) if managers and managers["count"] else "—", "",
                 managers["actual"] if managers else None),
        ])
        table.chart.append({"label": f"{target.subject_label()} · {item['period'].label()}",
                            "value": min(item["percent"] or 0, 150), "href": href,
                            "text": "—" if item["percent"] is None else f"{_number(item['percent'], 0)} %"})
    tables["plan"] = table

    # Activities
    table = Table("activities", _("Activities per manager"),
                  [_("Manager"), _("Calls"), _("Meetings"), _("Emails"), _("Tasks done"), _("Overdue tasks")],
                  empty=_("No activities in this period."),
                  note=_("Calls, meetings and emails entered in the period, tasks done in it; overdue: planned "
                         "tasks past their deadline now."))
    for row in data["activities"]:
        cells = [Cell(row["name"] or _("(nobody)"))]
        for kind in ("call", "meeting", "email", "task"):
            cells.append(Cell(_number(row[kind]), links.activities(kind=kind, person=row["user_id"] or "")
                              if row[kind] and row["user_id"] else "", row[kind]))
        cells.append(Cell(_number(row["overdue"]), links.activities(kind="task", state="overdue",
                                                                   person=row["user_id"] or "")
                          if row["overdue"] and row["user_id"] else "", row["overdue"]))
        table.rows.append(cells)
        if row["total"]:
            table.chart.append({"label": cells[0].text, "value": row["total"],
                                "href": links.activities(person=row["user_id"]) if row["user_id"] else "",
                                "text": _number(row["total"])})
    tables["activities"] = table

    return {
        "period": period, "previous": previous, "scope": scope, "pipeline": pipeline, "pipelines": available,
        "tables": tables, "computed_at": data["computed_at"], "data": data,
        "periods": PERIODS, "scopes": SCOPES,
        "kpis": _kpis(data, links, previous, currencies),
    }


def _kpis(data, links, previous, currencies):
    conversion = data["conversion"]
    closed = data["closed"]["current"]
    before = data["closed"]["previous"]
    new = {item["entity"]: item for item in data["new"]}
    kpis = []
    for key in ("contact", "company", "lead"):
        if key in new and key in registry:
            item = new[key]
            kpis.append({"label": _("New %(things)s") % {"things": registry[key].verbose_name_plural},
                         "value": _number(item["current"]), "href": links.created(key),
                         "change": _change(item["current"], item["previous"])})
    kpis.append({"label": _("Lead conversion"), "value": _percent(conversion["rate"]),
                 "href": links.created("lead", converted="true"), "change": None})
    kpis.append({"label": _("Deals won"), "value": _number(closed["won"]["count"]),
                 "href": links.closed(outcome="won"), "change": _change(closed["won"]["count"],
                                                                         before["won"]["count"])})
    kpis.append({"label": _("Win rate"), "value": _percent(closed["rate"]), "href": "", "change": None})
    return kpis


def export_allowed(user, table):
    """Whether `user` may export `table`: the export right on its record type (any record type for activities)."""
    if table.entity:
        return scope_q(user, registry[table.entity].model, EXPORT) is not None
    return any(scope_q(user, entity.model, EXPORT) is not None for entity in registry)


TABLE_TITLES = {"new": gettext_lazy("New records")}


def export_cells(table):
    """Header and rows of `table` for the export writers: typed values where there are, else the text."""
    header = [str(column) for column in table.columns]
    rows = []
    for row in table.rows:
        rows.append([cell.value if isinstance(cell.value, (int, float, Decimal)) and not isinstance(cell.value, bool)
                     else cell.text for cell in row])
    return header, rows
