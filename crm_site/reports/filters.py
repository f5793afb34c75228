"""List filters the reports link to, added to the entities' generic filtersets (crm_site.selectors).

Every entity gets: `created_from` / `created_to` (local dates, both included), `scope=me|department` (the
user's own records, or those of the user's departments and their subdepartments) and `department` (a
department with its subdepartments). Deals also get `outcome` (open / won / lost), `closed_from` / `closed_to`
(the day the deal moved into its current won or lost stage), `passed_stage` (the deal reached that stage or a
later one, skipped stages count as passed) and `stuck` (in an open stage longer than its pipeline allows);
leads get `converted`. The report selectors count with the very same conditions (`crm_site.reports.selectors`),
so a figure and the list it links to always agree.
"""

import datetime

import django_filters
from django import forms
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

DATE_WIDGET = forms.DateInput(attrs={"type": "date"})
ANY = _("any")


def yes_no_widget():
    """"any" / yes / no (not django-filter's "Unknown")."""
    return forms.Select(choices=[("", ANY), ("true", _("Yes")), ("false", _("No"))])


def local_midnight(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def filter_overrides():
    """Nullable links get a "(none)" choice (`?source=null`): a report's "no source" row links to it."""
    from django_filters.filterset import remote_queryset

    return {
        models.ForeignKey: {
            "filter_class": django_filters.ModelChoiceFilter,
            "extra": lambda f: {"queryset": remote_queryset(f), "to_field_name": f.remote_field.field_name,
                                "null_label": _("(none)") if f.null else None},
        },
    }


# ---------------------------------------------------------------------------
# Conditions shared with the selectors


def scope_condition(user, scope, *, owner="owner", department="department"):
    """Q for `scope`: "me" (owned by `user`), "department" (in the user's departments and their subdepartments),
    anything else: no condition (the read scope alone)."""
    from access.scopes import user_subtree_ids

    if user is None or not user.is_authenticated:
        return Q(pk__in=[])
    if scope == "me":
        return Q(**{f"{owner}_id": user.pk})
    if scope == "department":
        return Q(**{f"{department}_id__in": sorted(user_subtree_ids(user))})
    return Q()


def department_tree(department_id):
    from access.scopes import subtree_ids

    return sorted(subtree_ids({department_id}))


def closed_condition(first=None, end=None):
    """Deals in a won or lost stage whose last stage move (the one into that stage) happened in [first, end)."""
    from deals.models import Stage, StageChange

    condition = Q(stage__semantic__in=[Stage.Semantic.WON, Stage.Semantic.LOST])
    if first is not None:
        condition &= Q(Exists(StageChange.objects.filter(deal=OuterRef("pk"), changed_at__gte=first)))
    if end is not None:
        condition &= Q(Exists(StageChange.objects.filter(deal=OuterRef("pk")))) & ~Q(
            Exists(StageChange.objects.filter(deal=OuterRef("pk"), changed_at__gte=end)))
    return condition


def passed_condition(stage):
    """Deals of the stage's pipeline that reached `stage` or a later open stage at some point, or are won now
    (a won deal passed every stage; a deal reopened after a win counts by the open stages it reached)."""
    from deals.models import Stage, StageChange

    won = Q(stage__semantic=Stage.Semantic.WON)
    if stage.semantic == Stage.Semantic.WON:
        return Q(pipeline_id=stage.pipeline_id) & won
    if stage.semantic == Stage.Semantic.LOST:
        return Q(pipeline_id=stage.pipeline_id, stage=stage)
    first = stage.pipeline.stages.filter(semantic=Stage.Semantic.IN_PROGRESS).order_by("order", "pk").first()
    if first is not None and first.pk == stage.pk:
        return Q(pipeline_id=stage.pipeline_id)  # every deal of the pipeline entered it
    reached = Q(stage__semantic=Stage.Semantic.IN_PROGRESS, stage__order__gte=stage.order) | Q(Exists(
        StageChange.objects.filter(deal=OuterRef("pk"), to_stage__semantic=Stage.Semantic.IN_PROGRESS,
                                   to_stage__order__gte=stage.order)))
    return Q(pipeline_id=stage.pipeline_id) & (won | reached)


def stuck_cutoffs(now=None):
    """{pipeline id: the moment before which a deal entering its stage is stuck}; one query."""
    from deals.models import Pipeline

    from .models import DEFAULT_STUCK_DAYS

    now = now or timezone.now()
    return {pk: now - datetime.timedelta(days=days or DEFAULT_STUCK_DAYS)
            for pk, days in Pipeline.objects.values_list("pk", "stuck_rule__days")}


def stuck_condition(cutoffs):
    """Deals in an open stage that have not moved since their pipeline's cutoff (nor been created after it).

    One anti-join whatever the number of pipelines: the cutoff is a CASE on the deal's pipeline, and only the
    stage moves since the earliest cutoff are looked at."""
    from django.db.models import Case, DateTimeField, Value, When
    from django.db.models.lookups import Exact

    from deals.models import Stage, StageChange

    if not cutoffs:
        return Q(pk__in=[])

    def cutoff_of(pipeline):
        return Case(*[When(Exact(pipeline, pk), then=Value(moment)) for pk, moment in cutoffs.items()],
                    output_field=DateTimeField())

    recent = StageChange.objects.filter(deal=OuterRef("pk"), changed_at__gte=min(cutoffs.values())).filter(
        changed_at__gte=cutoff_of(OuterRef("pipeline_id")))
    return (Q(stage__semantic=Stage.Semantic.IN_PROGRESS, pipeline_id__in=sorted(cutoffs))
            & Q(created_at__lt=cutoff_of(models.F("pipeline_id"))) & ~Q(Exists(recent)))


# ---------------------------------------------------------------------------
# The filters


class ScopeFilter(django_filters.ChoiceFilter):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("choices", [("me", _("Mine")), ("department", _("My departments"))])
        kwargs.setdefault("label", _("Whose"))
        kwargs.setdefault("empty_label", ANY)
        super().__init__(*args, **kwargs)

    def filter(self, qs, value):
        if value in ("", None):
            return qs
        return qs.filter(scope_condition(getattr(self.parent.request, "user", None), value))


def _created_from(qs, name, value):
    return qs.filter(created_at__gte=local_midnight(value)) if value else qs


def _created_to(qs, name, value):
    return qs.filter(created_at__lt=local_midnight(value + datetime.timedelta(days=1))) if value else qs


def _department(qs, name, value):
    return qs.filter(department_id__in=department_tree(value.pk)) if value else qs


def generic_filters(entity, *, hidden=()):
    from access.models import Department

    filters = {
        "created_from": django_filters.DateFilter(label=_("Created from"), method=_created_from,
                                                  widget=DATE_WIDGET),
        "created_to": django_filters.DateFilter(label=_("Created to"), method=_created_to, widget=DATE_WIDGET),
        "scope": ScopeFilter(),
    }
    if "department" not in hidden:
        filters["department"] = django_filters.ModelChoiceFilter(
            label=_("Department (with subdepartments)"), queryset=Department.objects.all(), method=_department,
            empty_label=ANY)
    return filters


OUTCOMES = [("open", _("open")), ("won", _("won")), ("lost", _("lost"))]


def _outcome(qs, name, value):
    from deals.models import Stage

    semantic = {"open": Stage.Semantic.IN_PROGRESS, "won": Stage.Semantic.WON, "lost": Stage.Semantic.LOST}
    return qs.filter(stage__semantic=semantic[value]) if value in semantic else qs


def _closed_from(qs, name, value):
    return qs.filter(closed_condition(first=local_midnight(value))) if value else qs


def _closed_to(qs, name, value):
    return qs.filter(closed_condition(end=local_midnight(value + datetime.timedelta(days=1)))) if value else qs


def _passed_stage(qs, name, value):
    return qs.filter(passed_condition(value)) if value else qs


def _stuck(qs, name, value):
    if value is None:
        return qs
    condition = stuck_condition(stuck_cutoffs())
    return qs.filter(condition) if value else qs.exclude(condition)


def deal_filters(*, hidden=()):
    from deals.models import Stage

    filters = {
        "outcome": django_filters.ChoiceFilter(label=_("Outcome"), choices=OUTCOMES, method=_outcome, empty_label=ANY),
        "closed_from": django_filters.DateFilter(label=_("Won or lost from"), method=_closed_from,
                                                 widget=DATE_WIDGET),
        "closed_to": django_filters.DateFilter(label=_("Won or lost to"), method=_closed_to, widget=DATE_WIDGET),
        "stuck": django_filters.BooleanFilter(label=_("Stuck in a stage"), method=_stuck, widget=yes_no_widget()),
    }
    if "stage" not in hidden:
        filters["passed_stage"] = django_filters.ModelChoiceFilter(
            label=_("Reached the stage"), queryset=Stage.objects.select_related("pipeline"), method=_passed_stage,
            empty_label=ANY)
    return filters


def _converted(qs, name, value):
    return qs if value is None else qs.filter(converted_at__isnull=not value)


def lead_filters(*, hidden=()):
    return {"converted": django_filters.BooleanFilter(label=_("Converted"), method=_converted,
                                                      widget=yes_no_widget())}
