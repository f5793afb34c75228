"""Screens: warnings while typing, the merge screen, duplicate groups and scans, undo.

Access as everywhere: records outside the user's read scope answer 404, a missing right 403; the services
check rights again.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST

from access.fields import field_modes, hidden_fields
from access.scopes import ADD, DELETE, EDIT, READ, can, scope_q
from crm_site.http import safe_next
from crm_site.registry import registry
from crm_site.selectors import record_for_user_or_404
from crm_site.validation import parse_id, parse_ids

from . import keys as keymod
from . import selectors, services
from .matching import candidates_for_record, find_candidates, form_display_name, keys_from_form, rule_for
from .models import DuplicateGroup, MergeRecord, ScanRun
from .tasks import scan_launch


def _entity(key):
    if key not in registry:
        raise Http404
    return registry[key]


def dedup_entities():
    return [e for e in registry if keymod.spec_for(e.key).enabled and rule_for(e.key) is not None]


@require_POST
def check(request, entity):
    """htmx: possible duplicates of what is typed in a create/edit form (the form's own fields are posted)."""
    entity = _entity(entity)
    if scope_q(request.user, entity.model, ADD) is None and scope_q(request.user, entity.model, EDIT) is None:
        raise PermissionDenied  # only someone filling in a form of this entity needs the warnings
    warnings = []
    data = _without_hidden(request.POST, hidden_fields(request.user, entity.key))
    if keymod.spec_for(entity.key).enabled:
        exclude = None
        exclude_pk = parse_id(request.GET.get("exclude", ""))
        if exclude_pk is not None:
            exclude = (entity.model, exclude_pk)
        record_keys = keys_from_form(entity.key, data)
        found = find_candidates(entity.key, record_keys, exclude=exclude,
                                display=form_display_name(entity.key, data), limit=10)
        warnings = selectors.warnings_for(request.user, found)
    by_field, unplaced = _by_field(entity, warnings, data)
    return render(request, "dedup/warnings.html", {"warnings": warnings, "by_field": by_field, "unplaced": unplaced})


def _by_field(entity, warnings, posted=None):
    """Each warning next to the first form field it is about (name, phone, email); every slot the form has is
    listed, so one with nothing to say is emptied. The form's slots are `field-note-<field>` (includes/field.html
    and includes/channel_formsets.html); a field the form doesn't carry (hidden, or a read-only channel shown as
    text) has no slot, and its warnings go with the others below the form."""
    spec = keymod.spec_for(entity.key)
    name_field = "last_name" if spec.person else (spec.own_name or "")
    targets = {"name": name_field, "phone": "ch-phone", "email": "ch-email"}
    targets.update({field.name: field.name for field in keymod.criterion_fields(entity.key)})  # cf_<code>
    if posted is not None:
        keys = set(posted)
        targets = {key: target for key, target in targets.items()
                   if target in keys or any(k.startswith(f"{target}-") for k in keys)}
    slots = {key: [] for key, target in targets.items() if target}
    unplaced = []
    for warning in warnings:
        place = next((f for f in warning["fields"] if f in slots), None)
        (slots[place] if place else unplaced).append(warning)
    return [{"target": targets[key], "warnings": items} for key, items in slots.items()], unplaced


def _without_hidden(data, hidden):
    """A field the role hides can't be typed in the form, so it can't be used to probe the base either."""
    return {key: value for key, value in data.items()
            if key not in hidden and not any(key.startswith(f"ch-{name}-") for name in hidden)}


def record_candidates(request, entity, pk):
    """htmx: possible duplicates of a saved record (its card, the lead conversion page)."""
    entity = _entity(entity)
    obj = record_for_user_or_404(request.user, entity, pk)
    warnings = selectors.warnings_for(request.user, candidates_for_record(obj, limit=10))
    # The lead conversion page: "Use this contact / company" goes back to it with the record chosen.
    use_url = safe_next(request, param="use")
    if not use_url.startswith("/"):
        use_url = ""
    return render(request, "dedup/warnings.html", {"warnings": warnings, "record": obj, "entity": entity,
                                                   "use_url": use_url, "use_keys": ("contact", "company")})


def _ids(raw):
    return parse_ids(raw, separator=",")


class MergeView(View):
    """Pick the record that stays and, per differing field, the value; then merge."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.entity = _entity(kwargs["entity"])

    def records(self, request):
        ids = _ids(request.GET.get("ids") or request.POST.get("ids"))
        if len(ids) < 2:
            raise Http404
        found = {o.pk: o for o in self.entity.model.objects.visible_to(request.user, READ).filter(pk__in=ids)}
        if len(found) != len(ids):
            raise Http404  # one of them is outside the user's scope, in the bin or gone
        return [found[pk] for pk in ids]

    def survivor(self, request, records):
        raw = parse_id(request.POST.get("survivor") or request.GET.get("survivor") or "")
        by_pk = {o.pk: o for o in records}
        return by_pk.get(raw, records[0])

    def get(self, request, entity):
        records = self.records(request)
        if not any(can(request.user, o, EDIT) for o in records):
            raise PermissionDenied
        survivor = self.survivor(request, records)
        return self.show(request, records, survivor)

    def show(self, request, records, survivor, choices=None, status=200):
        others = [o for o in records if o.pk != survivor.pk]
        records = [survivor, *others]  # columns in the order of the plan's values
        modes = field_modes(request.user, self.entity.key)
        try:
            plan = services.merge_plan(survivor, others, choices, modes=modes)
        except ValidationError:
            plan = services.merge_plan(survivor, others, modes=modes)
        rights = {o.pk: {"edit": can(request.user, o, EDIT), "delete": can(request.user, o, DELETE)} for o in records}
        why = _why_duplicates(self.entity.key, survivor, others, hidden_fields(request.user, self.entity.key))
        return render(request, "dedup/merge.html", {
            "entity": self.entity, "records": records, "survivor": survivor,
            "record_rows": [(o, why.get(o.pk, "")) for o in records],
            "rows": [item for item in plan if item["differs"]],
            "same": [item for item in plan if not item["differs"] and any(v["display"] for v in item["values"])],
            "rights": rights, "ids": ",".join(str(o.pk) for o in records),
            "combined": services.combined_channels(survivor, others, hidden=hidden_fields(request.user,
                                                                                           self.entity.key)),
            "next": request.GET.get("next", request.POST.get("next", "")),
        }, status=status)

    def post(self, request, entity):
        records = self.records(request)
        survivor = self.survivor(request, records)
        others = [o for o in records if o.pk != survivor.pk]
        choices = {key[len("field:"):]: value for key, value in request.POST.items() if key.startswith("field:")}
        try:
            services.records_merge(user=request.user, survivor=survivor, others=others, field_choices=choices)
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
            return self.show(request, records, survivor, status=400)
        except PermissionDenied as error:
            messages.error(request, str(error) or _("You may not merge these records."))
            return self.show(request, records, survivor, status=403)
        messages.success(request, _("Merged %(count)s records into “%(obj)s”. You can undo this from its card.")
                         % {"count": len(records), "obj": survivor})
        return HttpResponseRedirect(survivor.get_absolute_url())


def _why_duplicates(entity_key, survivor, others, hidden, limit=6):
    """{pk: the engine's reasons} of each other record against the one that stays, as the reader may see them (a
    custom field hidden from their roles is not named): the merge screen says why they are taken as one."""
    from . import scoring
    from .matching import explain_all

    if not keymod.spec_for(entity_key).enabled:
        return {}
    mine = keymod.record_keys(survivor)
    return {other.pk: explain_all(scoring.score(entity_key, mine, keymod.record_keys(other)).reasons, hidden=hidden)
            for other in others[:limit]}


@require_POST
def merge_undo(request, pk):
    merge = get_object_or_404(MergeRecord, pk=pk)
    entity = _entity(merge.entity)
    survivor = get_object_or_404(entity.model.objects.visible_to(request.user, READ), pk=merge.survivor_id)
    try:
        services.merge_undo(user=request.user, merge=merge)
    except ValidationError as error:
        messages.error(request, "; ".join(error.messages))
    else:
        messages.success(request, _("The merge was undone: the merged records are back."))
    return HttpResponseRedirect(survivor.get_absolute_url())


def groups(request):
    """Duplicate groups of the latest scan of one entity, by confidence; scans are started from here."""
    entities = dedup_entities()
    if not entities:
        raise Http404
    keys = [e.key for e in entities]
    key = request.GET.get("entity") if request.GET.get("entity") in keys else keys[0]
    entity = registry[key]
    scan, rows = selectors.visible_groups(user=request.user, entity_key=key)
    running = ScanRun.objects.filter(entity=key, status__in=[ScanRun.Status.PENDING, ScanRun.Status.RUNNING]).first()
    can_scan = services.can_scan(request.user, key)
    return render(request, "dedup/groups.html", {
        "entities": entities, "entity": entity, "scan": scan, "rows": rows,
        "running": running if can_scan else None, "can_scan": can_scan,
    })


@require_POST
def scan_start(request, entity):
    entity = _entity(entity)
    if not services.can_scan(request.user, entity.key):
        raise PermissionDenied
    if not ScanRun.objects.filter(entity=entity.key, status__in=[ScanRun.Status.PENDING,
                                                                 ScanRun.Status.RUNNING]).exists():
        scan_launch(entity_key=entity.key, user=request.user)
        messages.success(request, _("The scan has started; the page shows its progress."))
    return HttpResponseRedirect(reverse("dedup_groups") + f"?entity={entity.key}")


def scan_status(request, pk):
    run = get_object_or_404(ScanRun, pk=pk)
    if run.entity not in registry or not services.can_scan(request.user, run.entity):
        raise Http404  # a run is seen by whoever may start one of its kind
    response = render(request, "dedup/scan_status.html", {"run": run})
    if run.status in (ScanRun.Status.DONE, ScanRun.Status.FAILED) and request.htmx:
        response["HX-Refresh"] = "true"
    return response


def _visible_group(request, pk):
    group = get_object_or_404(DuplicateGroup, pk=pk, resolved_at__isnull=True)
    entity = _entity(group.entity)
    members = list(entity.model.objects.visible_to(request.user, READ).filter(pk__in=group.object_ids))
    if len(members) != len(group.object_ids):
        raise Http404
    return group, entity, sorted(members, key=lambda o: o.pk)


@require_POST
@transaction.atomic
def group_not_duplicate(request, pk):
    group, entity, members = _visible_group(request, pk)
    for index, first in enumerate(members):  # all pairs or none: a refusal rolls back the earlier marks
        for second in members[index + 1:]:
            services.not_duplicate_mark(user=request.user, first=first, second=second)
    services.group_resolve(group=group)
    messages.success(request, _("Marked as not duplicates; they will not be suggested again."))
    return _back(request, entity)


@require_POST
def group_merge_auto(request, pk):
    """Merge a group the engine is sure of (above the auto-merge threshold, no field conflict, names that agree)
    and whose records have no conflicting values: the oldest record stays."""
    group, entity, members = _visible_group(request, pk)
    survivor = min(members, key=lambda o: (o.created_at, o.pk))
    others = [o for o in members if o.pk != survivor.pk]
    if not group.auto_mergeable or services.has_conflicts(survivor, others):
        messages.error(request, _("These records have different values: choose them on the merge screen."))
        return HttpResponseRedirect(reverse("dedup_merge", args=[entity.key]) + "?ids=" +
                                    ",".join(str(o.pk) for o in members))
    try:
        services.records_merge(user=request.user, survivor=survivor, others=others)
    except (PermissionDenied, ValidationError) as error:
        messages.error(request, "; ".join(getattr(error, "messages", [str(error) or _("You may not merge these.")])))
    else:
        services.group_resolve(group=group)
        messages.success(request, _("Merged into “%(obj)s”.") % {"obj": survivor})
    return _back(request, entity)


def _back(request, entity):
    return HttpResponseRedirect(safe_next(request, reverse("dedup_groups") + f"?entity={entity.key}"))
