"""The dashboard's figures. Every one is aggregate SQL over a `visible_to(user, "read")` queryset (so records the
user may not read, and records in the bin, never count), narrowed by the scope; a figure costs one query or two
whatever the amount of data. Amounts are summed per currency, never converted.

Definitions (the lists each figure links to use the same conditions, `crm_site.reports.filters`):
- *new* records: created in the period;
- *leads by source / status*, *conversion*: leads created in the period; converted = has a conversion date;
  time to conversion = from creation to conversion, over the converted ones;
- *funnel*: deals of the pipeline created in the period; a deal passed a stage when it reached that stage or a
  later open one at some point (skipped stages count as passed), or is won now; the stage history
  (deals.StageChange) says what it reached, so a deal reopened after a win counts by the open stages it reached;
- *won / lost*: deals whose last stage move, into their current won or lost stage, is in the period; a deal
  reopened and won again counts once, at its last win; win rate = won / (won + lost); days to close = from
  creation to that move;
- *stuck*: deals in an open stage with no stage move for longer than their pipeline's rule (admin);
- *plan*: targets of the month and the quarter the period ends in (today for the current period);
- *activities*: calls, meetings and emails entered in the period by their author; tasks done in the period by
  their responsible; overdue: planned tasks past their deadline now.
"""

import datetime
from collections import defaultdict
from contextlib import contextmanager
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Avg, Count, F, Q, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from access.scopes import READ, user_subtree_ids
from crm_site.registry import registry

from .filters import closed_condition, scope_condition, stuck_condition, stuck_cutoffs
from .periods import period_of

WON, LOST, PROGRESS = "won", "lost", "progress"
WON_RANK = 100_000  # above any stage order: a won deal passed every open stage


@contextmanager
def report_queries():
    """Run the figures' queries in one transaction without PostgreSQL's JIT compiler: a dashboard is a couple of
    dozen short aggregates, and at a million rows their cost estimates pass `jit_above_cost`, where compiling
    (up to a second per query, measured) costs far more than it saves. A year's figures sort and hash a few
    hundred thousand rows: with the default 4 MB of working memory they spill to disk, with 64 MB (for these
    queries only) they do not."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL jit = off; SET LOCAL work_mem = '64MB'")
        yield


def scoped(user, model, scope):
    """The records of `model` the user may read (never from the bin), narrowed to the scope."""
    return model.objects.visible_to(user, READ).filter(scope_condition(user, scope))


def _in(period, field="created_at"):
    return Q(**{f"{field}__gte": period.start_dt, f"{field}__lt": period.end_dt})


def _both(period, previous, field="created_at"):
    return Q(**{f"{field}__gte": previous.start_dt, f"{field}__lt": period.end_dt})


def _sql(queryset, *fields):
    """The SQL and parameters of `queryset.values(*fields)`, or None when it selects nothing at all."""
    if queryset.query.is_empty():
        return None
    return queryset.order_by().values(*fields).query.sql_with_params()  # no ORDER BY: it would sort every row


def _param(value):
    return connection.ops.adapt_datetimefield_value(value) if isinstance(value, datetime.datetime) else value


def _seconds_between(later, earlier):
    if connection.vendor == "postgresql":
        return f"EXTRACT(EPOCH FROM ({later} - {earlier}))"
    return f"((julianday({later}) - julianday({earlier})) * 86400.0)"


def _days(seconds):
    return None if seconds is None else round(float(seconds) / 86400, 1)


def _amounts(rows):
    """[(currency id, amount)] → [{"currency_id", "amount"}] without empty amounts, sorted by currency."""
    found = defaultdict(Decimal)
    for currency_id, amount in rows:
        if amount is not None and currency_id is not None:
            found[currency_id] += Decimal(amount)
    return [{"currency_id": key, "amount": found[key]} for key in sorted(found)]


# ---------------------------------------------------------------------------
# New records, leads


def new_records(user, scope, period, previous):
    """Per entity: records created in the period and in the previous one (one query per entity)."""
    figures = []
    for entity in registry:
        # COUNT(created_at) (never NULL), not COUNT(id): the rows are then counted from the index on (created_at,
        # owner, department, opened) of the live records alone, without reading the table (CRMObject.Meta).
        counts = scoped(user, entity.model, scope).filter(_both(period, previous)).aggregate(
            current=Count("created_at", filter=_in(period)), previous=Count("created_at", filter=_in(previous)))
        figures.append({"entity": entity.key, **counts})
    return figures


def leads_by(user, scope, period, previous, field):
    """Leads created in the period (and the previous one) per `field` ("source" or "status"): one query."""
    from leads.models import Lead

    rows = (scoped(user, Lead, scope).filter(_both(period, previous)).values(f"{field}_id")
            .annotate(current=Count("pk", filter=_in(period)), previous=Count("pk", filter=_in(previous)))
            .order_by(f"{field}_id"))
    return [{"id": row[f"{field}_id"], "current": row["current"], "previous": row["previous"]} for row in rows]


def lead_conversion(user, scope, period):
    """Leads created in the period: how many, how many converted, the average days from creation to conversion."""
    from leads.models import Lead

    converted = Q(converted_at__isnull=False)
    figures = scoped(user, Lead, scope).filter(_in(period)).aggregate(
        created=Count("pk"), converted=Count("pk", filter=converted),
        time=Avg(F("converted_at") - F("created_at"), filter=converted))
    time = figures.pop("time")
    figures["rate"] = figures["converted"] / figures["created"] if figures["created"] else None
    figures["days"] = None if time is None else _days(time.total_seconds())
    return figures


# ---------------------------------------------------------------------------
# Deals


def _furthest_moves(deals):
    """A join giving `h.m`, the highest order of the open stages each deal of `deals` was moved into (%s: the
    "progress" semantic). On PostgreSQL each deal reads its own moves by the index on the deal (LATERAL);
    SQLite has no LATERAL and groups the moves of the cohort."""
    if connection.vendor == "postgresql":
        return f"""LEFT JOIN LATERAL (
                    SELECT MAX(s."order") AS m
                    FROM deals_stagechange sc JOIN deals_stage s ON s.id = sc.to_stage_id
                    WHERE sc.deal_id = {deals}.id AND s.semantic = %s
                ) h ON true"""
    return f"""LEFT JOIN (
                    SELECT sc.deal_id, MAX(s."order") AS m
                    FROM deals_stagechange sc JOIN deals_stage s ON s.id = sc.to_stage_id
                    JOIN {deals} ON {deals}.id = sc.deal_id
                    WHERE s.semantic = %s
                    GROUP BY sc.deal_id
                ) h ON h.deal_id = {deals}.id"""


def funnel(user, scope, period, pipeline):
    """The pipeline's funnel for the deals created in the period: per open stage, then "won", the deals that
    passed it (count and amount per currency), and the deals in each stage now. Two queries.

    Each deal of the cohort reads its own stage moves (`_furthest_moves`): PostgreSQL would
    otherwise hash the whole stage history to join a month's cohort (0.22 s at 200k deals, against 0.04 s)."""
    from deals.models import Deal, Stage

    stages = list(pipeline.stages.order_by("order", "pk"))
    steps = [stage for stage in stages if stage.semantic == Stage.Semantic.IN_PROGRESS]
    won = [stage for stage in stages if stage.semantic == Stage.Semantic.WON]
    ranks = [(stage, stage.order) for stage in steps] + ([(won[0], WON_RANK)] if won else [])
    cohort = scoped(user, Deal, scope).filter(_in(period), pipeline=pipeline)
    passed = {stage.pk: {"count": 0, "amounts": defaultdict(Decimal)} for stage, _rank in ranks}
    compiled = _sql(cohort, "id", "stage_id", "amount", "currency_id")
    if compiled and ranks:
        deals_sql, params = compiled
        first = steps[0].order if steps else 0
        sums = ", ".join(
            f"SUM(CASE WHEN r.reached >= {int(rank)} THEN 1 ELSE 0 END), "
            f"SUM(CASE WHEN r.reached >= {int(rank)} THEN r.amount END)" for _stage, rank in ranks)
        sql = f"""
            WITH d AS ({deals_sql})
            SELECT r.currency_id, {sums}
            FROM (
                SELECT d.amount, d.currency_id,
                       CASE WHEN cs.semantic = %s THEN {WON_RANK}
                            WHEN cs.semantic = %s AND cs."order" > COALESCE(h.m, {int(first)}) THEN cs."order"
                            ELSE COALESCE(h.m, {int(first)}) END AS reached
                FROM d
                JOIN deals_stage cs ON cs.id = d.stage_id
                {_furthest_moves("d")}
            ) r
            GROUP BY r.currency_id
        """
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, WON, PROGRESS, PROGRESS])
            for row in cursor.fetchall():
                currency_id = row[0]
                for index, (stage, _rank) in enumerate(ranks):
                    count, amount = row[1 + 2 * index], row[2 + 2 * index]
                    passed[stage.pk]["count"] += count or 0
                    if amount is not None and currency_id is not None:
                        passed[stage.pk]["amounts"][currency_id] += Decimal(amount)
    now_in = defaultdict(lambda: {"count": 0, "amounts": []})
    for row in cohort.values("stage_id", "currency_id").annotate(n=Count("pk"), total=Sum("amount")).order_by():
        now_in[row["stage_id"]]["count"] += row["n"]
        if row["total"] is not None and row["currency_id"] is not None:
            now_in[row["stage_id"]]["amounts"].append((row["currency_id"], row["total"]))
    result = []
    previous_count = None
    for stage, _rank in ranks:
        count = passed[stage.pk]["count"]
        conversion = None if previous_count is None else (count / previous_count if previous_count else None)
        result.append({
            "stage_id": stage.pk, "won": stage.semantic == Stage.Semantic.WON, "count": count,
            "amounts": _amounts(passed[stage.pk]["amounts"].items()), "conversion": conversion,
            "drop_off": None if conversion is None else 1 - conversion,
            "now": now_in[stage.pk]["count"], "now_amounts": _amounts(now_in[stage.pk]["amounts"]),
        })
        previous_count = count
    lost = [{"stage_id": stage.pk, "now": now_in[stage.pk]["count"],
             "now_amounts": _amounts(now_in[stage.pk]["amounts"])}
            for stage in stages if stage.semantic == Stage.Semantic.LOST]
    return {"steps": result, "lost": lost, "total": sum(item["count"] for item in now_in.values())}


def closed_deals(user, scope, period, previous):
    """Deals won or lost in the period and the previous one (their last stage move): per outcome, currency and
    lost reason, the count, amount and total seconds from creation to closing. One query."""
    from deals.models import Deal

    # The deals moved in the two periods are those joined to `c` below (no `id IN (moves)` here: PostgreSQL would
    # check it once more per deal).
    deals = scoped(user, Deal, scope).filter(stage__semantic__in=[WON, LOST])
    compiled = _sql(deals, "id", "stage_id", "amount", "currency_id", "lost_reason_id", "created_at")
    empty = {"won": {"count": 0, "amounts": [], "days": None}, "lost": {"count": 0}, "rate": None,
             "reasons": []}
    if compiled is None:
        return {"current": empty, "previous": empty}
    deals_sql, params = compiled
    seconds = _seconds_between("c.closed_at", "d.created_at")
    sql = f"""
        WITH d AS ({deals_sql})
        SELECT CASE WHEN c.closed_at >= %s THEN 1 ELSE 0 END AS is_current, s.semantic, d.currency_id,
               d.lost_reason_id, COUNT(*), SUM(d.amount), SUM({seconds})
        FROM d
        JOIN deals_stage s ON s.id = d.stage_id
        JOIN (
            SELECT deal_id, MAX(changed_at) AS closed_at FROM deals_stagechange
            WHERE changed_at >= %s AND changed_at < %s GROUP BY deal_id
        ) c ON c.deal_id = d.id
        WHERE s.semantic IN (%s, %s)
          AND NOT EXISTS (SELECT 1 FROM deals_stagechange l WHERE l.deal_id = d.id AND l.changed_at >= %s)
        GROUP BY 1, s.semantic, d.currency_id, d.lost_reason_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, _param(period.start_dt), _param(previous.start_dt), _param(period.end_dt),
                             WON, LOST, _param(period.end_dt)])
        rows = cursor.fetchall()
    result = {}
    for key, flag in (("current", 1), ("previous", 0)):
        won_count, won_amounts, won_seconds, lost_count = 0, [], 0.0, 0
        reasons = defaultdict(int)
        for is_current, semantic, currency_id, reason_id, count, amount, total_seconds in rows:
            if is_current != flag:
                continue
            if semantic == WON:
                won_count += count
                won_amounts.append((currency_id, amount))
                won_seconds += float(total_seconds or 0)
            else:
                lost_count += count
                reasons[reason_id] += count
        amounts = _amounts(won_amounts)
        counts_per_currency = defaultdict(int)
        for is_current, semantic, currency_id, _reason, count, amount, _s in rows:
            if is_current == flag and semantic == WON and amount is not None and currency_id is not None:
                counts_per_currency[currency_id] += count
        for item in amounts:
            item["count"] = counts_per_currency[item["currency_id"]]
            item["average"] = (item["amount"] / item["count"]).quantize(Decimal("0.01")) if item["count"] else None
        closed = won_count + lost_count
        result[key] = {
            "won": {"count": won_count, "amounts": amounts, "days": _days(won_seconds / won_count) if won_count
                    else None},
            "lost": {"count": lost_count},
            "rate": won_count / closed if closed else None,
            "reasons": sorted(({"id": reason_id, "count": count} for reason_id, count in reasons.items()),
                              key=lambda item: (-item["count"], item["id"] or 0)),
        }
    return result


def stuck_deals(user, scope, now=None):
    """Deals stuck in an open stage (their pipeline's rule), per pipeline and stage: two queries."""
    from deals.models import Deal

    cutoffs = stuck_cutoffs(now)
    rows = (scoped(user, Deal, scope).filter(stuck_condition(cutoffs)).values("pipeline_id", "stage_id")
            .annotate(count=Count("pk")).order_by("pipeline_id", "stage_id"))
    return list(rows)


# ---------------------------------------------------------------------------
# The sales plan


def plan_reference_day(period, today=None):
    """The day whose month and quarter plans the dashboard shows: today within the period, else its last day."""
    today = today or timezone.localdate()
    return today if period.first <= today < period.end else period.last


def targets_in_scope(user, scope, day):
    """The targets of the month and the quarter of `day` the scope covers: "me" (the user's own), "department"
    (the departments of the user's subtree and their members), "all" (every target for a superuser; for others
    the department's and the pipelines')."""
    from access.models import Membership

    from .models import SalesTarget

    month, quarter = period_of("month", day), period_of("quarter", day)
    targets = SalesTarget.objects.filter(
        Q(period_kind="month", year=month.first.year, number=month.first.month)
        | Q(period_kind="quarter", year=quarter.first.year, number=(quarter.first.month - 1) // 3 + 1)
    ).select_related("manager", "department", "pipeline", "currency")
    if scope == "me":
        return targets.filter(manager=user)
    departments = sorted(user_subtree_ids(user))
    members = Membership.objects.filter(department_id__in=departments).values("user_id")
    mine = Q(manager=user) | Q(manager_id__in=members) | Q(department_id__in=departments)
    if scope == "department":
        return targets.filter(mine)
    if user.is_superuser:
        return targets
    return targets.filter(mine | Q(manager__isnull=True, department__isnull=True))


def sales_plan(user, scope, period, now=None):
    """Plan against actual for each target in scope: won deals (the user may read) closed in the target's period,
    of its manager / department tree / pipeline, in its currency; the run-rate forecast to the period's end; and
    for a department, its managers' targets and actuals summed. Three queries."""
    from access.models import Membership
    from deals.models import Deal

    now = now or timezone.now()
    day = plan_reference_day(period, timezone.localdate(now))
    targets = list(targets_in_scope(user, scope, day).order_by("period_kind", "department_id", "manager_id", "pk"))
    if not targets:
        return []
    month, quarter = period_of("month", day), period_of("quarter", day)
    in_month = closed_condition(month.start_dt, month.end_dt)
    rows = list(
        Deal.objects.visible_to(user, READ)
        .filter(closed_condition(quarter.start_dt, quarter.end_dt), stage__semantic=WON)
        .values("owner_id", "department_id", "pipeline_id", "currency_id")
        .annotate(q_count=Count("pk"), q_amount=Coalesce(Sum("amount"), Decimal(0)),
                  m_count=Count("pk", filter=in_month), m_amount=Coalesce(Sum("amount", filter=in_month),
                                                                          Decimal(0)))
        .order_by()
    )
    department_ids = {t.department_id for t in targets if t.department_id}
    trees = {pk: user_subtree_ids_of(pk) for pk in department_ids}
    members = defaultdict(set)
    for user_id, department_id in Membership.objects.filter(
            department_id__in={d for tree in trees.values() for d in tree}).values_list("user_id", "department_id"):
        members[department_id].add(user_id)

    def actual(target, *, owners=None):
        prefix = "m" if target.period_kind == "month" else "q"
        total = Decimal(0) if target.metric == "amount" else 0
        for row in rows:
            if target.pipeline_id and row["pipeline_id"] != target.pipeline_id:
                continue
            if owners is not None:
                if row["owner_id"] not in owners:
                    continue
            elif target.manager_id and row["owner_id"] != target.manager_id:
                continue
            elif target.department_id and row["department_id"] not in trees[target.department_id]:
                continue
            if target.metric == "amount":
                if row["currency_id"] == target.currency_id:
                    total += row[f"{prefix}_amount"]
            else:
                total += row[f"{prefix}_count"]
        return total

    result = []
    for target in targets:
        target_period = month if target.period_kind == "month" else quarter
        done = actual(target)
        share = target_period.elapsed_share(now)
        item = {
            "target": target, "period": target_period, "value": target.value, "actual": done,
            "percent": round(float(done) / float(target.value) * 100, 1) if target.value else None,
            "forecast": (Decimal(done) / Decimal(share)).quantize(Decimal("0.01")) if share else None,
            "managers": None,
        }
        if target.department_id:
            people = set().union(*(members[d] for d in trees[target.department_id]))
            same = [t for t in targets if t.manager_id in people and t.period_kind == target.period_kind
                    and t.metric == target.metric and t.currency_id == target.currency_id
                    and t.pipeline_id == target.pipeline_id]
            item["managers"] = {"count": len(same), "value": sum((t.value for t in same), Decimal(0)),
                                "actual": actual(target, owners={t.manager_id for t in same})}
        result.append(item)
    return result


def user_subtree_ids_of(department_id):
    from access.scopes import subtree_ids

    return subtree_ids({department_id})


# ---------------------------------------------------------------------------
# Activities


def people_in_scope(user, scope):
    """None (anyone) or the ids of the people whose activities the scope covers."""
    from access.models import Membership

    if scope == "me":
        return {user.pk}
    if scope == "department":
        return set(Membership.objects.filter(department_id__in=sorted(user_subtree_ids(user)))
                   .values_list("user_id", flat=True)) | {user.pk}
    return None


ACTIVITY_KINDS = ("call", "meeting", "email")


def _activity_conditions(kind, state, period, now):
    """The lookups on Entry one activity figure counts, and the field naming the person it counts for."""
    from timeline.models import TaskState

    if kind == "task":
        if state == "overdue":
            return {"kind": "task", "state": TaskState.PLANNED, "deadline__lt": now}, "responsible_id"
        return {"kind": "task", "state": TaskState.DONE, "done_at__gte": period.start_dt,
                "done_at__lt": period.end_dt}, "responsible_id"
    kinds = ACTIVITY_KINDS if kind in ("", None, "all") else (kind,)
    return {"kind__in": list(kinds), "created_at__gte": period.start_dt, "created_at__lt": period.end_dt}, "author_id"


def activity_entries(user, scope, *, kind, state, period=None, person=None, now=None):
    """The timeline entries one activity figure counts (the figure groups them, the activity list shows them):
    `state` "done" (calls, meetings, emails entered in the period; tasks done in it) or "overdue" (planned tasks
    past their deadline)."""
    from timeline.models import Entry
    from timeline.selectors import visible_filter

    conditions, who = _activity_conditions(kind, state, period, now or timezone.now())
    entries = Entry.objects.filter(visible_filter(user), **conditions)
    people = people_in_scope(user, scope)
    if people is not None:
        entries = entries.filter(**{f"{who}__in": sorted(people)})
    if person is not None:
        entries = entries.filter(**{who: person})
    return entries, who


def _activity_counts(user, scope, *, kind, state, period, now):
    """{(person id, kind): number of entries} for one activity figure. On PostgreSQL counted over the visible
    links from their copies of the entry (timeline.link_copies: an index-only read, an entry with several visible
    links counted once); elsewhere, and for overdue tasks (few, and their deadline has no copy), over the entries."""
    from timeline import link_copies
    from timeline.models import EntryLink
    from timeline.selectors import visible_link_filter

    conditions, who = _activity_conditions(kind, state, period, now)
    if not link_copies.enabled() or state == "overdue":
        entries, who = activity_entries(user, scope, kind=kind, state=state, period=period, now=now)
        rows = entries.values_list(who, "kind").annotate(n=Count("pk")).order_by()
        return {(person, entry_kind): n for person, entry_kind, n in rows}
    visible = visible_link_filter(user)
    if visible is None:
        return {}
    links = EntryLink.objects.filter(visible, **{f"entry_{lookup}": value for lookup, value in conditions.items()})
    people = people_in_scope(user, scope)
    if people is not None:
        links = links.filter(**{f"entry_{who}__in": sorted(people)})
    rows = (links.values_list(f"entry_{who}", "entry_kind").annotate(n=Count("entry_id", distinct=True))
            .order_by())
    return {(person, entry_kind): n for person, entry_kind, n in rows}


def activities(user, scope, period, now=None):
    """Per person: calls, meetings, emails entered, tasks done in the period, and tasks overdue now. Four
    queries (entries by author, tasks done and overdue by responsible, the people's names)."""
    now = now or timezone.now()
    table = defaultdict(lambda: {"call": 0, "meeting": 0, "email": 0, "task": 0, "overdue": 0})
    for (person, kind), n in _activity_counts(user, scope, kind="all", state="done", period=period,
                                              now=now).items():
        table[person][kind] += n
    # Tasks done and overdue apart, each on its index (kind, state, done_at / deadline): an OR of both would read
    # every task.
    for state, column in (("done", "task"), ("overdue", "overdue")):
        for (person, _kind), n in _activity_counts(user, scope, kind="task", state=state, period=period,
                                                   now=now).items():
            table[person][column] += n
    names = {u.pk: u.get_full_name() or u.get_username()
             for u in get_user_model().objects.filter(pk__in=[pk for pk in table if pk])}
    result = [{"user_id": pk, "name": names.get(pk, ""), **counts,
               "total": counts["call"] + counts["meeting"] + counts["email"] + counts["task"]}
              for pk, counts in table.items()]
    return sorted(result, key=lambda item: (-item["total"], -item["overdue"], item["name"]))
