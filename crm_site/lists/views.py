"""The list's own actions: columns, segments (save, delete, live count), bulk actions and their progress."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.views import View

from access.scopes import READ, scope_q

from ..http import safe_next
from ..registry import registry
from . import selectors, services
from .models import BulkJob, Segment


def _entity_or_404(key):
    if key not in registry:
        raise Http404
    entity = registry[key]
    return entity


def _list_url(entity, querystring=""):
    url = reverse(f"{entity.key}_list")
    return f"{url}?{querystring}" if querystring else url


def _back(request, entity):
    return HttpResponseRedirect(safe_next(request, _list_url(entity)))


class ColumnsView(View):
    """POST: the user's columns (ticked, in the order of their position numbers) and page size."""

    def post(self, request, entity):
        entity = _entity_or_404(entity)
        if scope_q(request.user, entity.model, READ) is None:
            raise PermissionDenied
        if request.POST.get("reset"):
            services.ListSettings.objects.filter(user=request.user, entity_key=entity.key).delete()
            messages.success(request, _("The list shows the default columns again."))
            return _back(request, entity)
        ticked = request.POST.getlist("columns")

        def position(name):
            value = request.POST.get(f"order_{name}", "")
            return int(value) if value.isdigit() else 999

        columns = sorted(ticked, key=lambda name: (position(name), ticked.index(name)))
        try:
            services.list_settings_save(user=request.user, entity=entity, columns=columns,
                                        page_size=request.POST.get("page_size") or None,
                                        sort=request.POST.get("sort"),
                                        default=bool(request.POST.get("as_default")))
        except (PermissionDenied, ValueError) as error:
            messages.error(request, str(error) or _("Not saved."))
        else:
            messages.success(request, _("Columns saved."))
        return _back(request, entity)


class SegmentCreateView(View):
    def post(self, request, entity):
        entity = _entity_or_404(entity)
        if scope_q(request.user, entity.model, READ) is None:
            raise PermissionDenied
        params = QueryDict(request.POST.get("params", ""))
        try:
            segment = services.segment_create(user=request.user, entity=entity, name=request.POST.get("name", ""),
                                              params=params, shared=bool(request.POST.get("shared")))
        except ValidationError as error:
            messages.error(request, "; ".join(error.messages))
            return HttpResponseRedirect(_list_url(entity, params.urlencode()))
        messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
        return HttpResponseRedirect(_segment_url(entity, segment))


def _segment_url(entity, segment):
    query = segment.query_dict.copy()
    query["segment"] = segment.pk
    return _list_url(entity, query.urlencode())


class SegmentDeleteView(View):
    def post(self, request, entity, pk):
        entity = _entity_or_404(entity)
        segment = get_object_or_404(Segment, pk=pk, entity_key=entity.key)
        try:
            services.segment_delete(user=request.user, segment=segment)
        except PermissionDenied as error:
            messages.error(request, str(error))
        else:
            messages.success(request, _("Segment “%(name)s” deleted.") % {"name": segment.name})
        return HttpResponseRedirect(_list_url(entity))


class SegmentCountView(View):
    """The live count of a segment for this user (their scope only), capped; loaded by the sidebar."""

    def get(self, request, entity, pk):
        entity = _entity_or_404(entity)
        segment = selectors.segment_for_user(request.user, entity, pk)
        if segment is None:
            raise Http404
        count, capped = selectors.capped_count(selectors.segment_queryset(request.user, segment, READ))
        text = number_format(count, force_grouping=True) + ("+" if capped else "")
        return HttpResponse(text, content_type="text/plain; charset=utf-8")


class BulkView(View):
    """POST: a bulk action on the ticked rows (`ids`) or on the whole filtered list (`all` + `params`)."""

    def post(self, request, entity):
        entity = _entity_or_404(entity)
        action = request.POST.get("action", "")
        params = QueryDict(request.POST.get("params", ""))
        back = HttpResponseRedirect(_list_url(entity, params.urlencode()))
        ids = None if request.POST.get("all") else request.POST.getlist("ids")
        if ids is not None and not ids:
            messages.error(request, _("Tick the rows first, or choose “all rows of the list”."))
            return back
        value = {"id": request.POST.get("value_id", ""), "ids": request.POST.getlist("value_ids"),
                 "field": request.POST.get("field", ""), "value": request.POST.get("value", "")}
        try:
            outcome = services.bulk_apply(user=request.user, entity=entity, action=action, value=value, ids=ids,
                                          params=params if ids is None else None)
        except (ValidationError, PermissionDenied) as error:
            messages.error(request, "; ".join(getattr(error, "messages", [str(error)])))
            return back
        if outcome.job is not None:
            messages.info(request, _("The action runs in the background on %(count)s rows; the progress is shown "
                                     "below.") % {"count": number_format(outcome.job.total, force_grouping=True)})
            return HttpResponseRedirect(reverse("lists_job", args=[outcome.job.pk]))
        if outcome.changed:
            messages.success(request, _("Changed: %(count)s.") % {"count": outcome.changed})
        if outcome.refused:
            messages.warning(request, _("Not changed (no right or invalid value): %(count)s. %(why)s") % {
                "count": outcome.refused, "why": " ".join(outcome.errors[:2])})
        if not outcome.changed and not outcome.refused:
            messages.info(request, _("Nothing to change."))
        return back


class JobView(View):
    """A background bulk action's progress (the page polls itself with htmx while it runs)."""

    def get(self, request, pk):
        job = get_object_or_404(BulkJob, pk=pk, user=request.user)
        entity = registry[job.entity_key] if job.entity_key in registry else None
        template = "lists/job_status.html" if request.htmx else "lists/job.html"
        return render(request, template, {"job": job, "entity": entity, "entities": list(registry),
                                          "label": services.ACTION_LABELS.get(job.action, job.action)})
