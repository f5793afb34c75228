"""Generic views that serve every registered entity; each url passes its entity key.

Access: every queryset comes from `visible_to()`; a record outside the read scope answers 404,
a missing right on a visible record answers 403.
"""

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import select_template
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from access.scopes import ADD, DELETE, EDIT, EXPORT, READ, can, scope_q

from .. import history, selectors, services, ui
from ..display import field_label, field_value, reachable_targets, restricted_value
from ..forms import channel_formsets, channels_input
from ..http import safe_next
from ..registry import registry
from ..validation import parse_id, search_too_long, search_too_long_message


def entity_templates(entity, name):
    """`{app}/{model}/{name}.html`, then `generic/{name}.html` (NetBox / Wagtail style fallback)."""
    return [f"{entity.model._meta.app_label}/{entity.key}/{name}.html", f"generic/{name}.html"]


class EntityView(View):
    entity_key = None

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        self.entity = registry[kwargs.pop("entity", self.entity_key)]
        self.model = self.entity.model
        self.kwargs = kwargs

    def visible(self, action=READ):
        return self.model.objects.visible_to(self.request.user, action)

    def get_object(self):
        """The record, 404 when it is outside the user's read scope or in the bin."""
        return selectors.record_for_user_or_404(self.request.user, self.entity, self.kwargs["pk"])

    def hidden(self):
        """Fields the user's roles hide on this entity (access.fields): left out of every screen."""
        from access.fields import hidden_fields

        return hidden_fields(self.request.user, self.entity.key)

    def require(self, obj, action):
        if not can(self.request.user, obj, action):
            raise PermissionDenied

    def render(self, name, context, status=200):
        context.setdefault("entity", self.entity)
        context.setdefault("entities", list(registry))
        return render(self.request, entity_templates(self.entity, name), context, status=status)


class ObjectListView(EntityView):
    def list_query(self):
        """The records of the list for the request's ?q=, filters and sort (selectors.entity_list): the list page and
        the export both build their records here, so an export holds exactly what the list shows."""
        return selectors.entity_list(user=self.request.user, entity=self.entity, params=self.request.GET,
                                     request=self.request)

    def get(self, request, **kwargs):
        listed = self.list_query()
        query, sort, filterset = listed.query, listed.sort, listed.filterset
        if search_too_long(query):
            messages.warning(request, search_too_long_message())
        queryset = listed.queryset.select_related(*self.entity.list_select_related)
        if self.entity.has_channels:
            queryset = queryset.prefetch_related("communications")
        hidden = self.hidden()
        list_columns = [name for name in self.entity.list_columns if name not in hidden]
        paginator = Paginator(queryset, self.page_size())
        page = paginator.get_page(request.GET.get("page"))
        columns = [
            {
                "name": name,
                "label": field_label(self.model, name),
                "sortable": name in self.entity.sort_fields,
                "sorted": "asc" if sort == name else ("desc" if sort == f"-{name}" else ""),
            }
            for name in list_columns
        ]
        objects = list(page)
        reachable = reachable_targets(request.user, objects, list_columns)
        rows = [{"object": obj, "cells": [self.cell(obj, name, reachable) for name in list_columns]} for obj in objects]
        params = request.GET.copy()
        params.pop("page", None)
        sort_params = params.copy()
        sort_params.pop("sort", None)
        context = {
            "page": page,
            "rows": rows,
            "columns": columns,
            "query": query,
            "sort": sort,
            "filterset": filterset,
            "querystring": params.urlencode(),
            "sort_querystring": sort_params.urlencode(),
            "can_add": scope_q(request.user, self.model, ADD) is not None,
            "can_bulk_delete": scope_q(request.user, self.model, DELETE) is not None,
            "can_export": scope_q(request.user, self.model, EXPORT) is not None,
        }
        name = "list_table" if request.htmx and request.htmx.target == "list-results" else "list"
        return self.render(name, context)

    def page_size(self):
        from django.conf import settings

        try:
            size = int(str(self.request.GET.get("per_page", settings.CRM_PAGE_SIZE))[:4])
        except ValueError:
            size = settings.CRM_PAGE_SIZE
        return max(10, min(size, 100))

    def cell(self, obj, name, reachable):
        if name in ("phone", "primary_phone"):
            comm = obj.primary_phone
            return {"value": comm.display if comm else "", "href": comm.href if comm else ""}
        if name in ("email", "primary_email"):
            comm = obj.primary_email
            return {"value": comm.value if comm else "", "href": comm.href if comm else ""}
        value, link = restricted_value(obj, name, reachable, short=True)
        return {"value": value, "link": link}


class ObjectDetailView(EntityView):
    def get(self, request, **kwargs):
        obj = self.get_object()
        return self.render("detail", self.card_context(obj))

    def card_context(self, obj):
        user = self.request.user
        hidden = self.hidden()
        sections = []
        reachable = reachable_targets(user, [obj], [n for _t, names in self.entity.card_sections for n in names])
        for title, names in self.entity.card_sections:
            items = []
            for name in [name for name in names if name not in hidden]:
                value, link = restricted_value(obj, name, reachable)
                items.append({"name": name, "label": field_label(self.model, name), "value": value, "link": link})
            sections.append({"title": title, "items": items})
        can_edit = can(user, obj, EDIT)
        relations = []
        for relation in self.entity.relations:
            target_model = relation.target_model
            visible_targets = target_model.objects.visible_to(user, READ).values("pk")
            links = (
                relation.through_model.objects.filter(**{relation.from_field: obj})
                .filter(**{f"{relation.to_field}__in": visible_targets})
                .select_related(relation.to_field)
            )
            relations.append(
                {
                    "relation": relation,
                    "target_entity": target_model.entity(),
                    "links": [
                        {
                            "id": link.pk,
                            "target": getattr(link, relation.to_field),
                            "extra": [
                                {"label": field_label(type(link), f), "value": field_value(link, f)}
                                for f in relation.extra_fields
                            ],
                        }
                        for link in links
                    ],
                    "extra_fields": [
                        {"name": f, "label": field_label(relation.through_model, f),
                         "type": "checkbox" if f.startswith("is_") else "text"}
                        for f in relation.extra_fields
                    ],
                }
            )
        related_lists = []
        for title, accessor, key in self.entity.related_lists:
            related_entity = registry[key]
            records = (
                related_entity.model.objects.visible_to(user, READ)
                .filter(**{accessor: obj})
                .select_related(*related_entity.list_select_related)  # the card shows e.g. a deal's stage
            )
            shown = list(records[:50])
            rows = [{"object": record, "brief": [field_value(record, name, short=True)
                                                 for name in related_entity.brief_fields]} for record in shown]
            related_lists.append({"title": title, "entity": related_entity, "records": shown, "rows": rows,
                                  "count": records.count()})
        channels = []
        if self.entity.has_channels:
            comms = list(obj.communications.all())
            for channel, label in _channel_titles():
                values = [c for c in comms if c.channel == channel]
                if values and channel not in hidden:
                    channels.append({"label": label, "values": values})
        return {
            "object": obj,
            "sections": sections,
            "channels": channels,
            "relations": relations,
            "related_lists": related_lists,
            "can_edit": can_edit,
            "can_delete": can(user, obj, DELETE),
            "badges": self.entity.card_badges(obj),
            "extra_actions": [action for action in self.entity.extra_actions if action.shown_for(obj)],
            "history": selectors.record_history(user, obj),
            "main_panels": ui.panels_for(self.request, obj, self.entity, "main"),
            "side_panels": ui.panels_for(self.request, obj, self.entity, "side"),
        }


def _channel_titles():
    from ..forms import CHANNEL_LABELS

    return list(CHANNEL_LABELS.items())


class ObjectEditView(EntityView):
    """Create (no pk) or edit (pk) with the phone/email/messenger/link formsets."""

    def dispatch(self, request, *args, **kwargs):
        if "pk" in self.kwargs:
            self.object = self.get_object()
            self.require(self.object, EDIT)
        else:
            if scope_q(request.user, self.model, ADD) is None:
                raise PermissionDenied
            self.object = self.model()
        return super().dispatch(request, *args, **kwargs)

    def get_form(self, data=None):
        initial = {key: value for key, value in self.request.GET.items() if key in self.entity.form._meta.fields}
        return self.entity.form(data=data, instance=self.object, user=self.request.user, initial=initial)

    def get(self, request, **kwargs):
        return self.show(self.get_form(), self.formsets())

    def formsets(self, data=None):
        from access.fields import read_only_fields

        if not self.entity.has_channels:
            return []
        read_only = read_only_fields(self.request.user, self.entity.key)
        return channel_formsets(self.object, data, hidden=self.hidden(), read_only=read_only)

    def post(self, request, **kwargs):
        form = self.get_form(request.POST)
        # A read-only channel left out of the POST stays unbound: nothing to check, nothing to save.
        formsets = [fs for fs in self.formsets(request.POST) if fs.is_bound]
        if form.is_valid() and all(fs.is_valid() for fs in formsets):
            creating = self.object.pk is None
            confirm = ui.create_confirmation(request, self.entity, form, formsets) if creating else None
            if confirm:  # e.g. a likely duplicate: asked once more, nothing saved yet
                return self.show(form, self.formsets_to_show(formsets), extra={"create_confirm": confirm})
            try:
                obj = self.save(form, formsets)
            except services.VersionConflict as error:
                form.show_errors(error)
                form.data = form.data.copy()  # saving again now knowingly keeps the values typed here
                form.data["version"] = history.version(self.object)
            except PermissionDenied as error:
                form.add_error(None, str(error) or _("You may not save this record."))
            except ValidationError as error:
                form.show_errors(error)
            else:
                if self.object.pk is None:
                    messages.success(request, _("Created: “%(obj)s”.") % {"obj": obj})
                else:
                    messages.success(request, _("Changes saved."))
                return HttpResponseRedirect(self.success_url(obj))
        return self.show(form, self.formsets_to_show(formsets), status=400)

    def save(self, form, formsets):
        """The form's values through the write services (the same path as the admin, the import and the API)."""
        data, channels = form.input_data(), channels_input(formsets) if self.entity.has_channels else None
        if self.object.pk is None:
            return services.record_create(user=self.request.user, entity=self.entity, data=data, channels=channels)
        return services.record_update(user=self.request.user, obj=self.object, data=data, channels=channels,
                                      version=form.cleaned_data.get("version"))

    def formsets_to_show(self, submitted):
        """After a refused POST: the submitted formsets with their errors, unsubmitted read-only ones as they are."""
        by_prefix = {fs.prefix: fs for fs in submitted}
        return [by_prefix.get(fs.prefix, fs) for fs in self.formsets()]

    def success_url(self, obj):
        return safe_next(self.request, obj.get_absolute_url())

    def show(self, form, formsets, status=200, extra=None):
        return self.render(
            "form",
            {"form": form, "formsets": formsets, "object": self.object, "is_new": self.object.pk is None,
             "next": self.request.GET.get("next", self.request.POST.get("next", "")), **(extra or {})},
            status=status,
        )


class ObjectDeleteView(EntityView):
    def dispatch(self, request, *args, **kwargs):
        self.object = self.get_object()
        self.require(self.object, DELETE)
        return super().dispatch(request, *args, **kwargs)

    def get(self, request, **kwargs):
        return self.render("confirm_delete", {"object": self.object})

    def post(self, request, **kwargs):
        services.record_delete(user=request.user, obj=self.object)
        messages.success(request, _("“%(obj)s” moved to the recycle bin.") % {"obj": self.object})
        return HttpResponseRedirect(reverse(f"{self.entity.key}_list"))


class RelationLinkView(EntityView):
    """POST: link the record to another one (`target` id plus the link's extra fields)."""

    def post(self, request, **kwargs):
        obj = self.get_object()
        self.require(obj, EDIT)
        try:
            relation = self.entity.relation(kwargs["relation"])
        except KeyError:
            raise Http404 from None
        target_id = parse_id(request.POST.get("target", ""))
        target = None
        if target_id is not None:
            target = relation.target_model.objects.visible_to(request.user, READ).filter(pk=target_id).first()
        if target is None:
            messages.error(request, _("Choose a record from the list to link."))
        else:
            extra = {}
            for name in relation.extra_fields:
                if name.startswith("is_"):
                    extra[name] = request.POST.get(name) in ("on", "1", "true")
                else:
                    extra[name] = request.POST.get(name, "").strip()
            try:
                with transaction.atomic():
                    services.record_link(user=request.user, obj=obj, relation=relation, target=target, **extra)
            except ValidationError as error:
                messages.error(request, "; ".join(error.messages))
            else:
                messages.success(request, _("Linked “%(target)s”.") % {"target": target})
        return HttpResponseRedirect(obj.get_absolute_url() + f"#relation-{relation.name}")


class RelationUnlinkView(EntityView):
    def post(self, request, **kwargs):
        obj = self.get_object()
        self.require(obj, EDIT)
        try:
            relation = self.entity.relation(kwargs["relation"])
        except KeyError:
            raise Http404 from None
        if services.record_unlink(user=request.user, obj=obj, relation=relation, link_id=kwargs["link_id"]):
            messages.success(request, _("Link removed."))
        return HttpResponseRedirect(obj.get_absolute_url() + f"#relation-{relation.name}")


class AutocompleteView(EntityView):
    """Records matching ?q= that the user may read: JSON for scripts, <option>s for htmx datalists."""

    limit = 20

    def get(self, request, **kwargs):
        query = request.GET.get("q", "").strip()
        results = []
        if search_too_long(query):
            if not request.htmx:
                return JsonResponse({"results": [], "error": search_too_long_message()}, status=400)
        elif query:
            queryset = self.visible(READ).search(query, user=request.user).order_by("-pk")[: self.limit]
            results = [{"id": obj.pk, "text": str(obj), "url": obj.get_absolute_url()} for obj in queryset]
        if request.htmx:
            template = select_template(entity_templates(self.entity, "autocomplete"))
            return render(request, template.template.name, {"results": results, "entity": self.entity})
        return JsonResponse({"results": results})
