"""Generic views that serve every registered entity; each url passes its entity key.

Access: every queryset comes from `visible_to()`; a record outside the read scope answers 404,
a missing right on a visible record answers 403.
"""

from contextlib import nullcontext

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.template.loader import select_template
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import View

from access.scopes import ADD, DELETE, EDIT, EXPORT, IMPORT, READ, can, scope_q

from .. import history, selectors, services, ui
from ..display import field_label, field_value, reachable_targets, restricted_value
from ..export import vcard_kind
from ..expressions import walked_read
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
    """The list: the filter panel, the user's columns and page size, the segments sidebar, bulk actions, a
    capped count and keyset pages for deep pages (crm_site.lists)."""

    def list_params(self):
        """The request's parameters, with the user's remembered sort when the URL names none."""
        params = self.request.GET
        row = self.list_settings_row
        if row is not None and row.sort and "sort" not in params:
            params = params.copy()
            params["sort"] = row.sort
        return params

    @property
    def list_settings_row(self):
        if not hasattr(self, "_list_settings_row"):
            from ..lists.selectors import list_settings

            self._list_settings_row = list_settings(self.request.user, self.entity)
        return self._list_settings_row

    def list_query(self):
        """The records of the list for the request's ?q=, filters and sort (selectors.entity_list): the list page and
        the export both build their records here, so an export holds exactly what the list shows."""
        return selectors.entity_list(user=self.request.user, entity=self.entity, params=self.list_params(),
                                     request=self.request)

    def get(self, request, **kwargs):
        from ..lists import selectors as lists

        panel = request.GET.get("_panel")
        if panel in ("filters", "columns", "bulk"):
            return self.panel(panel)
        listed = self.list_query()
        query, sort, filterset = listed.query, listed.sort, listed.filterset
        if search_too_long(query):
            messages.warning(request, search_too_long_message())
        queryset = listed.queryset.select_related(*self.entity.list_select_related)
        from ..customfields.registry import by_name, prefetch_cells

        hidden = self.hidden()
        chosen = lists.chosen_columns(request.user, self.entity, hidden, settings_row=self.list_settings_row)
        list_columns = [column.name for column in chosen]
        size = self.page_size()
        page = self.paginate(listed.queryset, queryset, size, selective=bool(query) or _filtered(filterset))
        columns = [
            {
                "name": column.name,
                "label": column.label,
                "sortable": selectors.sort_expression(self.entity, column.name) is not None,
                "sorted": "asc" if sort == column.name else ("desc" if sort == f"-{column.name}" else ""),
                "width": "main" if index == 0 else _column_width(self.model, column.name),
            }
            for index, column in enumerate(chosen)
        ]
        objects = page["objects"]
        if self.entity.has_channels:
            selectors.with_channels(objects)
        reachable = reachable_targets(request.user, objects, list_columns)
        custom = by_name(self.entity.key)
        prefetch_cells([custom[c.name] for c in chosen if c.name in custom], objects, request.user)
        rows = [{"object": obj, "cells": [self.cell(obj, column, reachable) for column in chosen]}
                for obj in objects]
        params = request.GET.copy()
        for name in ("page", "after", "before", "_panel", "_filters", "_bulk"):
            params.pop(name, None)
        sort_params = params.copy()
        sort_params.pop("sort", None)
        segments = lists.segments_for(request.user, self.entity)
        current_segment = str(request.GET.get("segment", ""))
        can_edit = scope_q(request.user, self.model, EDIT) is not None
        context = {
            "page": page,
            "rows": rows,
            "columns": columns,
            "query": query,
            "sort": sort,
            "filterset": filterset,
            # The filter panel and the columns menu are rendered when first opened (htmx), so the list itself
            # renders fast; without JavaScript `?_filters=1` shows the panel in place.
            "filters_inline": "_filters" in request.GET or bool(filterset.form.errors),
            "filter_groups": self.filter_groups(filterset) if "_filters" in request.GET or filterset.form.errors else {},
            "querystring": params.urlencode(),
            "sort_querystring": sort_params.urlencode(),
            "can_add": scope_q(request.user, self.model, ADD) is not None,
            "can_bulk_delete": scope_q(request.user, self.model, DELETE) is not None,
            "can_bulk_edit": can_edit,
            "can_export": scope_q(request.user, self.model, EXPORT) is not None,
            "can_vcard": bool(vcard_kind(self.entity)),
            "can_import": scope_q(request.user, self.model, IMPORT) is not None,
            "segments": segments,
            "current_segment": next((s for s in segments if str(s.pk) == current_segment), None),
            "chosen_columns": list_columns,
            "page_size": size,
            # The values an action picks from (users, tags, stages) are loaded when the bulk form is first used
            # (htmx, `?_panel=bulk`); without JavaScript `?_bulk=1` lists them in place.
            "bulk_actions": self.bulk_actions(can_edit, hidden, choices="_bulk" in request.GET) if rows else [],
        }
        context["bulk_lazy"] = any(action.get("choices", ()) is None for action in context["bulk_actions"])
        name = "list_table" if request.htmx and request.htmx.target == "list-results" else "list"
        return self.render(name, context)

    def panel(self, name):
        """The filter panel's fields, or the columns menu, for the list's current parameters (loaded on opening)."""
        from ..lists import selectors as lists

        hidden = self.hidden()
        params = self.request.GET.copy()
        params.pop("_panel", None)
        if name == "bulk":
            can_edit = scope_q(self.request.user, self.model, EDIT) is not None
            return self.render("bulk_values", {"bulk_actions": self.bulk_actions(can_edit, hidden)})
        if name == "filters":
            filterset = selectors.entity_filterset(self.entity, params, self.model.objects.none(), hidden=hidden,
                                                   request=self.request, user=self.request.user)
            return self.render("filter_panel", {"filterset": filterset, "filter_groups": self.filter_groups(filterset)})
        chosen = lists.chosen_columns(self.request.user, self.entity, hidden, settings_row=self.list_settings_row)
        return self.render("columns_panel", {
            "available_columns": lists.available_columns(self.entity, self.request.user, hidden),
            "chosen_columns": [column.name for column in chosen], "page_size": self.page_size(),
            "page_sizes": lists.PAGE_SIZES, "sort": params.get("sort", ""), "next": params.get("next", ""),
        })

    def filter_groups(self, filterset):
        definitions = getattr(filterset, "definitions", [])
        form = filterset.form
        groups = {"main": [], "more": []}
        for definition in definitions:
            if definition.name in form.fields:
                groups.setdefault(definition.group, []).append(form[definition.name])
        return groups

    def bulk_actions(self, can_edit, hidden, choices=True):
        from ..lists.services import bulk_action_choices

        return bulk_action_choices(self.request.user, self.entity, hidden, can_edit=can_edit, choices=choices)

    def paginate(self, base_queryset, queryset, size, selective=False):
        """Page 1… by number while the rows are few; past them (and for every "next" link) by key
        (`after` / `before` cursors), so a deep page costs what the first one does.

        One query reads the first COUNT_CAP + 1 rows' sort keys (lists.leading_keys): the capped count and,
        whenever the page lies among those rows, the page's ids, whose records are then read by primary key
        (within the user's read scope again). Only a page past them runs the keyset (or numbered) query.

        `selective` (a search or a filter is set): when PostgreSQL expects few matching rows (lists.few_rows),
        the keys are read fenced (lists.fenced_keys: every match by the search's and the filters' indexes, then
        sorted), never by walking the list order's index looking for them."""
        from ..lists import selectors as lists

        get = self.request.GET
        try:
            number = max(1, int(str(get.get("page", 1))[:6]))  # a 25-digit page number is page 999999
        except ValueError:
            number = 1
        after, before = get.get("after", ""), get.get("before", "")
        fence = selective and lists.ordering_of(base_queryset) is not None and lists.few_rows(base_queryset)
        # Not fenced: walked in the list's order, each row tested (crm_site.expressions.walked_read).
        with nullcontext() if fence else walked_read():
            return self._paginate(base_queryset, queryset, size, number, after, before, fence)

    def _paginate(self, base_queryset, queryset, size, number, after, before, fence):
        from ..lists import selectors as lists

        cap = lists.COUNT_CAP
        if fence and (after or before):
            # One read of the matches gives the count and the page (lists.fenced_cursor_page).
            found = lists.fenced_cursor_page(base_queryset, size, cap=cap, after=after or None,
                                             before=before or None)
            if found is not None:
                count, capped, page_keys, next_cursor, prev_cursor = found
                objects = self.records_by_pk([pk for _key, pk in page_keys])
                return self.page_context(objects, number, count, capped, next_cursor is not None, next_cursor,
                                         prev_cursor, size)
        keys = lists.leading_keys(base_queryset, cap=cap, fence=fence)
        if keys is None:
            count, capped = lists.capped_count(base_queryset, cap=cap)
        else:
            count, capped = min(len(keys), cap), len(keys) > cap
        window = None
        if keys is not None:
            window = lists.window_page(keys, size, cap=cap, number=number, after=after or None,
                                       before=before or None)
        if window is not None:
            page_keys, has_next, next_cursor, prev_cursor = window
            objects = self.records_by_pk([pk for _key, pk in page_keys])
            return self.page_context(objects, number, count, capped, has_next, next_cursor, prev_cursor, size)
        keyset = None
        if after or before:
            keyset = lists.keyset_page(queryset, size, after=after or None, before=before or None, fence=fence)
        if keyset is None and (after or before):
            number = 1  # a cursor this ordering cannot use: back to the first page
        if keyset is None:
            offset = (number - 1) * size
            objects = list(queryset[offset: offset + size + 1])
            has_next = len(objects) > size
            objects = objects[:size]
            next_cursor = prev_cursor = None
            shape = lists.ordering_of(queryset)
            if objects and has_next and shape is not None:
                last = objects[-1]
                key = _sort_value(last, shape[0])
                if key is not None:
                    next_cursor = lists.make_cursor([key, last.pk])
        else:
            objects, next_cursor, prev_cursor = keyset
            has_next = next_cursor is not None
        return self.page_context(objects, number, count, capped, has_next, next_cursor, prev_cursor, size)

    def records_by_pk(self, ids):
        """The page's records, in the order of `ids`: by primary key, so the filters and the search do not run
        again. The ids were read a moment ago by the list's own query, within the user's read scope
        (`visible_to`), so the scope is not built and tested a second time (a millisecond of every page)."""
        if not ids:
            return []
        found = {obj.pk: obj for obj in self.model.objects.filter(pk__in=ids).select_related(
            *self.entity.list_select_related)}
        return [found[pk] for pk in ids if pk in found]

    @staticmethod
    def page_context(objects, number, count, capped, has_next, next_cursor, prev_cursor, size):
        num_pages = None if capped else max(1, -(-count // size))
        return {
            "objects": objects,
            "number": number,
            "count": count,
            "capped": capped,
            "num_pages": num_pages,
            "has_next": has_next,
            "has_previous": number > 1,
            "next_cursor": next_cursor,
            "prev_cursor": prev_cursor,
            "size": size,
        }

    def page_size(self):
        from ..lists.selectors import page_size

        return page_size(self.request.user, self.entity, self.request.GET.get("per_page"),
                         settings_row=self.list_settings_row)

    def cell(self, obj, column, reachable):
        name = column.name
        if column.cell is not None:
            value = column.cell(obj)
            if isinstance(value, dict):  # a custom field's list cell: value and link
                return value
            return {"value": "" if value is None else value, "link": ""}
        if name in ("phone", "primary_phone"):
            comm = obj.primary_phone
            return {"value": comm.display if comm else "", "href": comm.href if comm else ""}
        if name in ("email", "primary_email"):
            comm = obj.primary_email
            return {"value": comm.value if comm else "", "href": comm.href if comm else ""}
        value, link = restricted_value(obj, name, reachable, short=True)
        return {"value": value, "link": link}


def _filtered(filterset):
    """Whether any filter of the panel is set (a valid bound FilterSet with a changed field)."""
    return bool(filterset is not None and filterset.is_bound and filterset.is_valid() and filterset.form.changed_data)


def _column_width(model, name):
    """A width class for a list column (the dense table's fixed layout shares the rest among the others)."""
    from django.contrib.auth import get_user_model
    from django.db import models

    if name in ("phone", "primary_phone"):
        return "phone"
    if name in ("email", "primary_email"):
        return "email"
    try:
        field = model._meta.get_field(name)
    except Exception:
        return ""
    if isinstance(field, (models.DateField, models.DateTimeField)):
        return "date"
    if isinstance(field, (models.IntegerField, models.DecimalField, models.FloatField, models.BooleanField)):
        return "num"
    if field.is_relation and field.related_model is get_user_model():
        return "person"
    if field.choices or (field.is_relation and not hasattr(field.related_model, "entity")):
        return "short"
    return ""


def _sort_value(obj, expression):
    value = obj
    for part in expression.split("__"):
        value = getattr(value, part, None) if value is not None else None
        if value is not None and part != expression.split("__")[-1] and not hasattr(value, "_meta"):
            return None
    return value.pk if hasattr(value, "_meta") else value


class ObjectDetailView(EntityView):
    def get(self, request, **kwargs):
        obj = self.get_object()
        return self.render("detail", self.card_context(obj))

    def card_context(self, obj):
        user = self.request.user
        hidden = self.hidden()
        from ..customfields import is_custom
        from ..customfields.layout import sections as layout_sections
        from ..customfields.layout import shown
        from ..customfields.registry import by_name

        sections = []
        layout = layout_sections(self.entity, obj)
        custom = by_name(self.entity.key)
        reachable = reachable_targets(user, [obj], [n for _t, names in layout for n in names if not is_custom(n)])
        for title, names in layout:
            items = []
            for name in [name for name in names if name not in hidden]:
                if is_custom(name):
                    definition = custom.get(name)
                    if definition is None or not shown(definition, obj):
                        continue
                    cell = definition.list_cell(obj, user)
                    items.append({"name": name, "label": definition.label, "value": cell["value"],
                                  "link": cell["link"], "custom": True})
                    continue
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
        files = self.request.FILES if data is not None else None
        return self.entity.form(data=data, files=files, instance=self.object, user=self.request.user, initial=initial)

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
            with transaction.atomic():  # a company created in the contact's form goes with the contact, or not at all
                links = form.links_input(self.request.user) if hasattr(form, "links_input") else None
                return services.record_create(user=self.request.user, entity=self.entity, data=data,
                                              channels=channels, links=links)
        return services.record_update(user=self.request.user, obj=self.object, data=data, channels=channels,
                                      version=form.cleaned_data.get("version"))

    def formsets_to_show(self, submitted):
        """After a refused POST: the submitted formsets with their errors, unsubmitted read-only ones as they are."""
        by_prefix = {fs.prefix: fs for fs in submitted}
        return [by_prefix.get(fs.prefix, fs) for fs in self.formsets()]

    def success_url(self, obj):
        return safe_next(self.request, obj.get_absolute_url())

    def form_layout(self, form):
        """[{"title", "fields": [BoundField]}] in the card's layout; fields no section names go last ("Other")."""
        from ..customfields.layout import sections

        visible = {bound.name: bound for bound in form.visible_fields()}
        out, placed = [], set(getattr(form, "extra_field_names", ()))  # form-only sections are placed by the template
        for title, names in sections(self.entity, self.object if self.object.pk else None):
            fields = [visible[name] for name in names if name in visible and name not in placed]
            placed.update(bound.name for bound in fields)
            if fields:
                out.append({"title": title, "fields": fields})
        rest = [bound for name, bound in visible.items() if name not in placed]
        if rest:
            out.append({"title": _("Other") if out else "", "fields": rest})
        return out

    def show(self, form, formsets, status=200, extra=None):
        return self.render(
            "form",
            {"form": form, "formsets": formsets, "object": self.object, "is_new": self.object.pk is None,
             "form_layout": self.form_layout(form),
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
