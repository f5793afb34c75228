"""The recycle bin screens and the bulk delete action of the generic lists.

Every record is looked up in the user's bin (`bin_queryset`: binned records they could delete if they
were live); anything else answers 404. Deleting for good is for superusers only (403 otherwise).
Every action is a plain form POST, so all of it works without JavaScript.
"""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from access.fields import hidden_fields
from access.scopes import READ
from crm_site.http import safe_next
from crm_site.registry import registry
from crm_site.selectors import record_history
from crm_site.validation import parse_ids

from . import selectors, services
from .forms import BinFilterForm


class BinListView(View):
    def get(self, request):
        form = BinFilterForm(request.GET or None)
        filters = form.cleaned_data if form.is_valid() else {}
        rows = selectors.bin_rows(
            request.user,
            entity_key=filters.get("type", ""),
            deleted_by=filters.get("deleted_by"),
            since=filters.get("since"),
            until=filters.get("until"),
            query=(filters.get("q") or "").strip(),
        )
        page = Paginator(rows, settings.CRM_PAGE_SIZE).get_page(request.GET.get("page"))
        params = request.GET.copy()
        params.pop("page", None)
        return render(request, "trash/list.html", {
            "form": form,
            "page": page,
            "items": selectors.bin_items(page.object_list),
            "querystring": params.urlencode(),
            "can_purge": services.can_purge(request.user),
            "filtered": any(filters.values()),
        })


class BinItemView(View):
    """One binned record: what it is, its history (deleted / restored), what a restore would meet."""

    def get(self, request, entity, pk):
        if entity not in registry:
            raise Http404
        obj = get_object_or_404(services.bin_queryset(request.user, registry[entity].model), pk=pk)
        item = selectors.bin_item(obj, services.retention_days()[entity])
        hidden = hidden_fields(request.user, entity)
        return render(request, "trash/item.html", {
            "item": item,
            "object": obj,
            "history": record_history(request.user, obj),
            "owner_hidden": "owner" in hidden,
            "linked_in_bin": services.linked_in_bin([obj])[obj.pk],
            "unique_conflicts": services.unique_conflicts(obj),
            "can_purge": services.can_purge(request.user),
        })


def _found_or_404(user, tokens):
    objs = selectors.bin_objects(user, tokens)
    if not objs:
        raise Http404
    return objs


class BinRestoreView(View):
    def post(self, request):
        objs = _found_or_404(request.user, request.POST.getlist("items"))
        restore_related = request.POST.get("restore_related") in ("on", "1", "true")
        results = services.records_restore(user=request.user, objs=objs, restore_related=restore_related)
        restored = sum(result.restored for result in results)
        if restored:
            messages.success(request, ngettext("%(count)d record restored.", "%(count)d records restored.",
                                               restored) % {"count": restored})
        if restored == len(results) and not any(result.linked_in_bin for result in results):
            if len(results) == 1:
                return HttpResponseRedirect(results[0].obj.get_absolute_url())
            return HttpResponseRedirect(reverse("trash_list"))
        for result in results:
            result.linked_tokens = [f"{type(o).entity().key}:{o.pk}" for o in result.linked_in_bin]
        return render(request, "trash/restore_results.html", {"results": results})


class BinPurgeView(View):
    """POST without `confirm`: the confirmation page; with it: delete for good."""

    def post(self, request):
        if not services.can_purge(request.user):
            raise PermissionDenied
        objs = _found_or_404(request.user, request.POST.getlist("items"))
        if request.POST.get("confirm") != "yes":
            items = [selectors.bin_item(obj, 0) for obj in objs]
            return render(request, "trash/confirm_purge.html", {"items": items})
        count = services.records_purge(user=request.user, objs=objs)
        messages.success(request, ngettext("%(count)d record deleted permanently.",
                                           "%(count)d records deleted permanently.", count) % {"count": count})
        return HttpResponseRedirect(reverse("trash_list"))


class BulkDeleteView(View):
    """The generic lists' "Delete selected": POST ids; without `confirm` the confirmation page."""

    def post(self, request, entity):
        if entity not in registry:
            raise Http404
        entity = registry[entity]
        ids = parse_ids(request.POST.getlist("ids"))
        objs = list(entity.model.objects.visible_to(request.user, READ).filter(pk__in=ids))
        back = safe_next(request, reverse(f"{entity.key}_list"))
        if not objs:
            messages.error(request, _("Select the records to delete."))
            return HttpResponseRedirect(back)
        if request.POST.get("confirm") != "yes":
            return render(request, "trash/confirm_bulk_delete.html",
                          {"entity": entity, "objects": objs, "next": back})
        result = services.records_delete(user=request.user, objs=objs)
        refused = len(result.refused) + len(set(ids) - {obj.pk for obj in objs})
        if result.moved:
            messages.success(request, ngettext("%(count)d record moved to the recycle bin.",
                                               "%(count)d records moved to the recycle bin.",
                                               len(result.moved)) % {"count": len(result.moved)})
        if refused:
            messages.warning(request, ngettext("%(count)d record was not deleted: you may not delete it.",
                                               "%(count)d records were not deleted: you may not delete them.",
                                               refused) % {"count": refused})
        return HttpResponseRedirect(back)


