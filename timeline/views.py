"""The timeline panel on every card, adding and changing entries (htmx with plain-form fallbacks),
"My activities" and notifications.

Access: the card's record comes from `visible_to(user, "read")` (404 outside it); adding needs edit rights on
it (403); an entry comes from `visible_entries(user)` (404) and only its author or a superuser may change it.
"""

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import reswap, retarget, trigger_client_event

from access.scopes import EDIT, READ, can
from crm_site import events
from crm_site.http import safe_next
from crm_site.registry import registry
from crm_site.selectors import record_for_user_or_404
from crm_site.validation import parse_id, parse_ids

from . import selectors, services
from .forms import entry_form_class
from .models import USER_KINDS, Kind, Notification, TaskState, entry_kinds

PAGE_SIZE = 20
PINNED, PINNED_FILTERED = 10, 200  # planned tasks pinned on top: all of them when filtered by "task"
MAX_PAGE = 500


def _record(request, entity_key, pk):
    if entity_key not in registry:
        raise Http404
    return registry[entity_key], record_for_user_or_404(request.user, entity_key, pk)


def _positive(value, default=1, maximum=MAX_PAGE):
    number = parse_id(value)
    return min(number, maximum) if number is not None else default


def _filters(request, entity):
    kind = request.GET.get("kind", request.GET.get("tl_kind", ""))
    related = request.GET.get("related", request.GET.get("tl_related", "")) == "1"
    known = {code for code, _label in entry_kinds()}
    return (kind if kind in known else ""), related and selectors.has_related(entity)


def panel_context(request, obj, entity, *, page=1, only_page=False):
    """The timeline of `obj` for `request.user`: pinned planned tasks, then a page of entries newest first.

    A constant number of queries whatever the number of entries (authors and responsibles joined).
    `only_page`: just page `page` (htmx "load more"); otherwise pages 1..page (the no-JS "more" link).
    """
    user = request.user
    kind, related = _filters(request, entity)
    entries = selectors.entries_for_record(user, obj, kinds=[kind] if kind else None, include_related=related)
    pinned, more_pinned = [], False
    if not kind or kind == Kind.TASK:
        limit = PINNED_FILTERED if kind == Kind.TASK else PINNED
        pinned = list(selectors.planned_tasks(entries).select_related("author", "responsible")[:limit + 1])
        more_pinned, pinned = len(pinned) > limit, pinned[:limit]
    stream = entries.exclude(kind=Kind.TASK, state=TaskState.PLANNED).select_related("author", "responsible")
    start = (page - 1) * PAGE_SIZE if only_page else 0
    rows = list(stream[start:page * PAGE_SIZE + 1])
    has_more = len(rows) > page * PAGE_SIZE - start
    rows = rows[:page * PAGE_SIZE - start]
    resolve_refs(pinned + rows, user)
    base = {"kind": kind, "related": "1" if related else ""}
    query = urlencode({key: value for key, value in base.items() if value})
    card_query = urlencode({f"tl_{key}": value for key, value in base.items() if value})
    return {
        "object": obj,
        "entity": entity,
        "pinned": pinned,
        "more_pinned": more_pinned,
        "entries": rows,
        "has_more": has_more,
        "next_page": page + 1,
        "kind": kind,
        "related": related,
        "has_related": selectors.has_related(entity),
        "kinds": entry_kinds(),
        "user_kinds": [(kind_, Kind(kind_).label) for kind_ in USER_KINDS],
        "can_add": can(user, obj, EDIT),
        "query": query,
        "card_query": card_query,
        "panel_url": reverse("timeline_panel", args=[entity.key, obj.pk]),
        "card_url": obj.get_absolute_url(),
        "user": user,
    }


def resolve_refs(entries, user):
    """Give system entries `.refs`: the records they name, as links when `user` may read them, else hidden.

    One query per entity named on the page (a constant), so no record name leaks out of the user's scope.
    """
    wanted = {}
    for entry in entries:
        for ref in _named_refs(entry):
            wanted.setdefault(ref.get("key"), set()).add(ref.get("id"))
    visible = set()
    for key, ids in wanted.items():
        if key in registry:
            model = registry[key].model
            visible |= {(key, pk) for pk in model.objects.visible_to(user, READ).filter(pk__in=ids)
                        .values_list("pk", flat=True)}
    for entry in entries:
        entry.refs = [
            {"name": ref.get("name", ""), "url": reverse(f"{ref['key']}_detail", args=[ref["id"]])
             if (ref.get("key"), ref.get("id")) in visible else ""}
            for ref in _named_refs(entry)
        ]
    hide_fields(entries, user)
    return entries


# System entries that are about one field: shown without its values when the viewer's role hides it.


def hide_fields(entries, user):
    """Give system entries `.changes` without the fields the viewer's roles hide on the changed record's entity,
    and `.detail_hidden` when the entry is about such a field (access.fields: hidden in history views too)."""
    from access.fields import hidden_fields

    by_entity = {}
    for entry in entries:
        if not entry.is_system:
            continue
        key = (entry.data.get("record") or {}).get("key")
        if key not in by_entity:
            by_entity[key] = hidden_fields(user, key) if key in registry else set()
        hidden = by_entity[key]
        changes = entry.data.get("changes") or []
        entry.changes = [change for change in changes if change.get("field") not in hidden]
        field = events.kind(entry.kind).field if events.is_kind(entry.kind) else ""
        entry.detail_hidden = bool(field and field in hidden) or bool(changes and not entry.changes)


def _named_refs(entry):
    if not entry.is_system:
        return []
    refs = list(entry.data.get("related", ()))
    if entry.kind in (Kind.LINKED, Kind.UNLINKED) and entry.data.get("record"):
        refs.insert(0, entry.data["record"])  # "A ↔ B" reads the same on both cards
    return [ref for ref in refs if isinstance(ref, dict) and "key" in ref and "id" in ref]


def card_panel_context(request, obj, entity):
    """Registered card panel (crm_site.ui): reads ?tl_kind=, ?tl_related=1, ?tl_page= of the card's url."""
    return panel_context(request, obj, entity, page=_positive(request.GET.get("tl_page")))


def panel(request, entity, pk):
    """The panel alone (htmx filter / refresh); without htmx the card itself with the same filters."""
    entity_, obj = _record(request, entity, pk)
    if not request.htmx:
        kind, related = _filters(request, entity_)
        query = urlencode({k: v for k, v in (("tl_kind", kind), ("tl_related", "1" if related else "")) if v})
        return HttpResponseRedirect(obj.get_absolute_url() + (f"?{query}" if query else "") + "#timeline")
    page = _positive(request.GET.get("page"))
    only_page = request.GET.get("more") == "1"
    context = {"ctx": panel_context(request, obj, entity_, page=page, only_page=only_page)}
    template = "timeline/entries_page.html" if only_page else "timeline/panel.html"
    return render(request, template, context)


def _form_page(request, context, status=200):
    template = "timeline/form_partial.html" if request.htmx else "timeline/form_page.html"
    return render(request, template, context, status=status)


@require_http_methods(["GET", "POST"])
def add(request, entity, pk, kind):
    entity_, obj = _record(request, entity, pk)
    if kind not in USER_KINDS:
        raise Http404
    if not can(request.user, obj, EDIT):
        raise PermissionDenied
    form_class = entry_form_class(kind)
    form = form_class(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        services.entry_create(user=request.user, obj=obj, form=form)
        if request.htmx:
            return _changed(render(request, "timeline/panel.html", {"ctx": panel_context(request, obj, entity_)}))
        return HttpResponseRedirect(obj.get_absolute_url() + "#timeline")
    context = {"form": form, "kind": Kind(kind), "object": obj, "entity": entity_,
               "action": reverse("timeline_add", args=[entity_.key, obj.pk, kind]),
               "cancel_url": obj.get_absolute_url() + "#timeline", "target": "#timeline"}
    if request.method == "POST":
        if request.htmx:
            # Keep the panel; show the form again with its errors where it was.
            return reswap(retarget(_form_page(request, context), "#tl-form"), "innerHTML")
        return _form_page(request, context, status=400)
    return _form_page(request, context)


def _entry(request, pk):
    return get_object_or_404(selectors.visible_entries(request.user).select_related("author", "responsible"), pk=pk)


def _back(request, entry):
    next_url = safe_next(request)
    if next_url:
        return next_url
    for record in selectors.linked_records(entry, request.user):
        return record.get_absolute_url() + "#timeline"
    return reverse("timeline_activities")


def _entry_item(request, entry):
    return _changed(render(request, "timeline/entry_item.html", {"entry": entry, "user": request.user}))


def _changed(response):
    """Tell the page (htmx) that tasks changed, so the header counters reload themselves."""
    return trigger_client_event(response, "tl-changed")


@require_http_methods(["GET", "POST"])
def edit(request, pk):
    entry = _entry(request, pk)
    if not services.may_change(request.user, entry):
        raise PermissionDenied
    form = entry_form_class(entry.kind)(request.POST or None, instance=entry, user=request.user)
    if request.method == "POST" and form.is_valid():
        entry = services.entry_update(user=request.user, entry=entry, form=form)
        return _entry_item(request, entry) if request.htmx else HttpResponseRedirect(_back(request, entry))
    context = {"form": form, "kind": Kind(entry.kind), "entry": entry,
               "action": reverse("timeline_edit", args=[entry.pk]), "cancel_url": _back(request, entry),
               "target": f"#entry-{entry.pk}", "next": request.GET.get("next", request.POST.get("next", ""))}
    if request.method == "POST" and request.htmx:
        return reswap(_form_page(request, context), "innerHTML")  # the errors stay inside the entry
    return _form_page(request, context, status=400 if request.method == "POST" else 200)


@require_POST
def delete(request, pk):
    entry = _entry(request, pk)
    back = _back(request, entry)
    services.entry_delete(user=request.user, entry=entry)
    return _changed(HttpResponse("")) if request.htmx else HttpResponseRedirect(back)


@require_POST
def complete(request, pk):
    entry = _entry(request, pk)
    state = request.POST.get("state", TaskState.DONE)
    if state not in (TaskState.DONE, TaskState.CANCELLED):
        return HttpResponse(status=400)
    if not entry.is_planned:
        raise PermissionDenied
    entry = services.task_set_state(user=request.user, entry=entry, state=state)
    return _entry_item(request, entry) if request.htmx else HttpResponseRedirect(_back(request, entry))


def attach_records(entries, user):
    """Give each entry `.records`: the live records it belongs to that `user` may read (a query per entity)."""
    wanted = {}
    for entry in entries:
        for link in entry.links.all():
            wanted.setdefault(link.content_type, set()).add(link.object_id)
    found = {}
    for content_type, ids in wanted.items():
        model = content_type.model_class()
        if model is None or model._meta.label not in {e.model_path for e in registry}:
            continue
        for record in model.objects.visible_to(user, READ).filter(pk__in=ids):
            found[(content_type.pk, record.pk)] = record
    for entry in entries:
        entry.records = [found[key] for key in ((link.content_type_id, link.object_id) for link in entry.links.all())
                         if key in found]
    return entries


def activities(request):
    paginator = Paginator(selectors.activities_for_user(request.user), 50)
    page = paginator.get_page(request.GET.get("page"))
    attach_records(page.object_list, request.user)
    return render(request, "timeline/activities.html", {"page": page, "tasks": page.object_list,
                                                        "counters": selectors.activity_counters(request.user)})


@require_http_methods(["GET", "POST"])
def notifications(request):
    if request.method == "POST":
        ids = parse_ids(request.POST.getlist("id")) or None
        services.notifications_mark_read(user=request.user, ids=ids)
        return HttpResponseRedirect(reverse("timeline_notifications"))
    paginator = Paginator(Notification.objects.filter(user=request.user), 50)
    page = paginator.get_page(request.GET.get("page"))
    return render(request, "timeline/notifications.html", {"page": page})


def counters(request):
    """The header counters alone, reloaded by htmx after a task changes on the page."""
    return render(request, "timeline/counters.html", {"ctx": header_context(request)})


def header_context(request):
    """Top bar counters: planned tasks due today / overdue, unread notifications (one query)."""
    if not request.user.is_authenticated:
        return None
    return selectors.header_counts(request.user)
