import dataclasses

from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.contrib.contenttypes.admin import GenericTabularInline
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from simple_history.admin import SimpleHistoryAdmin
from simple_history.template_utils import HistoricalRecordContextHelper

from access.fields import field_modes
from access.models import FieldRule
from access.scopes import ADD, DELETE, EDIT, READ, can, scope_q
from crm_site.widgets import AutocompleteSelect

from .display import entity_foreign_keys, reachable_targets, restricted_value
from .forms import CHANNEL_LABELS, BaseChannelFormSet, ChannelForm
from .models import ClientType, Communication, Currency, Industry, Source, Tag


class EditableListAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_ru", "name_uk", "order", "is_active")
    list_editable = ("order", "is_active")
    search_fields = ("code", "name_en", "name_ru", "name_uk")


for model in (Source, ClientType, Industry):
    admin.site.register(model, EditableListAdmin)


@admin.register(Currency)
class CurrencyAdmin(EditableListAdmin):
    list_display = (*EditableListAdmin.list_display, "symbol", "is_default")


@admin.register(Tag)
class TagAdmin(admin.ModelAdmin):
    search_fields = ("name",)


class ParentRightsInline:
    """Inline rows (phones, links) follow the rights on the record they belong to, not model permissions."""

    def has_view_permission(self, request, obj=None):
        return obj is None or can(request.user, obj, READ)

    def has_add_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_change_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._may_edit(request, obj)

    def _may_edit(self, request, obj):
        if obj is None:  # the add page: whoever may add the record fills in its rows
            return scope_q(request.user, self.parent_model, ADD) is not None
        return can(request.user, obj, EDIT)


class ChannelInline(ParentRightsInline, GenericTabularInline):
    """One channel's values (validated like the CRM's own form); hidden or read-only as the role's field rules say."""

    model = Communication
    form = ChannelForm
    fields = ("kind", "value", "is_primary")
    extra = 0
    channel = None

    def get_queryset(self, request):
        return super().get_queryset(request).filter(channel=self.channel)

    def get_formset(self, request, obj=None, **kwargs):
        kwargs["formset"] = type("AdminChannelFormSet", (BaseChannelFormSet,), {"channel": self.channel})
        return super().get_formset(request, obj, **kwargs)

    def _may_edit(self, request, obj):
        locked = field_modes(request.user, self.parent_model.entity().key).get(self.channel)
        return locked is None and super()._may_edit(request, obj)


def _channel_inline(channel):
    return type(f"{channel.name.title()}Inline", (ChannelInline,), {
        "channel": channel, "verbose_name": channel.label, "verbose_name_plural": CHANNEL_LABELS[channel],
    })


CHANNEL_INLINES = [_channel_inline(channel) for channel in Communication.Channel]


class ScopedForeignKeys:
    """Entity foreign keys offer, accept and name only records the user may read (NetBox restrict_form_fields)."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        model = db_field.related_model
        if hasattr(model, "entity") and not request.user.is_superuser:
            visible = model.objects.visible_to(request.user, READ)
            kwargs["queryset"] = visible
            if db_field.name in self.get_raw_id_fields(request):
                kwargs["widget"] = ScopedRawIdWidget(db_field.remote_field, self.admin_site, visible=visible)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_raw_id_fields(self, request):
        return self.raw_id_fields


class ScopedRawIdWidget(ForeignKeyRawIdWidget):
    def __init__(self, rel, admin_site, *, visible, **kwargs):
        super().__init__(rel, admin_site, **kwargs)
        self.visible = visible

    def label_and_url_for_value(self, value):
        try:
            reachable = not value or self.visible.filter(pk=value).exists()
        except (ValueError, TypeError, ValidationError):
            return "", ""  # not an id at all (a refused form shown again): nothing to name
        if not reachable:
            return _("hidden record"), ""
        return super().label_and_url_for_value(value)


class RelationInline(ParentRightsInline, ScopedForeignKeys, admin.TabularInline):
    """A card's links (contact ↔ company, deal ↔ contact): only links to records the user may read are listed."""

    extra = 0

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        for field in self.model._meta.concrete_fields:
            target = field.related_model
            if field.many_to_one and target is not self.parent_model and hasattr(target, "entity"):
                queryset = queryset.filter(**{f"{field.name}__in": target.objects.visible_to(request.user, READ)})
        return queryset


class CRMObjectAdmin(ScopedForeignKeys, SimpleHistoryAdmin):
    """Admin for every entity, through the same access path as the CRM's screens: the changelist and object pages
    come from visible_to(); saves go through the record services (rights, events, the re-check of scope); the
    role's field rules hide fields (form, list, filters, search, history) or make them read-only."""

    list_display = ("__str__", "owner", "department", "opened", "created_at")
    list_filter = ("opened", "department")
    readonly_fields = ("department", "created_at", "created_by", "updated_at", "updated_by")
    raw_id_fields = ("owner",)
    inlines = CHANNEL_INLINES

    def field_rules(self, request):
        """{model field name: "hidden" | "read_only"} for this user (channels are handled by their inlines)."""
        names = {field.name for field in self.model._meta.get_fields()}
        modes = field_modes(request.user, self.model.entity().key)
        return {name: mode for name, mode in modes.items() if name in names}

    def _hidden(self, request):
        return {name for name, mode in self.field_rules(request).items() if mode == FieldRule.HIDDEN}

    def _read_only(self, request):
        return [name for name, mode in self.field_rules(request).items() if mode == FieldRule.READ_ONLY]

    def get_queryset(self, request):
        return self.model.objects.visible_to(request.user, READ)

    def get_exclude(self, request, obj=None):
        # custom_fields: a raw JSON column; its values get their own form fields (and field rules) with custom fields.
        return [*(super().get_exclude(request, obj) or ()), "custom_fields", *self._hidden(request),
                *self._read_only_links(request)]

    def get_form(self, request, obj=None, change=False, **kwargs):
        """The model form plus one field per custom field the user may see (read-only ones disabled)."""
        from django.contrib.admin.utils import flatten_fieldsets

        from .customfields import is_custom
        from .customfields.registry import visible_definitions

        if "fields" not in kwargs:  # what Django's get_form would compute, without the custom fields
            kwargs["fields"] = flatten_fieldsets(self.get_fieldsets(request, obj))
        if kwargs["fields"] is not None:
            kwargs["fields"] = [name for name in kwargs["fields"] if not is_custom(name)]
        form = super().get_form(request, obj, change, **kwargs)
        modes = field_modes(request.user, self.model.entity().key)
        extra = {}
        for definition in visible_definitions(request.user, self.model.entity().key):
            field = definition.form_field(user=request.user)
            if isinstance(field.widget, AutocompleteSelect):  # the admin's renderer: a raw id, like raw_id_fields
                from django import forms as django_forms

                field.widget = django_forms.TextInput(attrs={"class": "vIntegerField"})
            field.disabled = modes.get(definition.name) == FieldRule.READ_ONLY
            extra[definition.name] = field
        if not extra:
            return form

        def __init__(self, *args, **kw):
            form.__init__(self, *args, **kw)
            stored = self.instance.custom_fields or {}
            for name, field in self.fields.items():
                definition = getattr(field, "custom_field", None)
                if definition is not None and definition.code in stored and definition.type != "file":
                    self.initial[name] = definition.kind.initial(definition, stored[definition.code])

        return type(form.__name__, (form,), {**extra, "__init__": __init__})

    def _read_only_links(self, request):
        """Read-only links to other records: shown by a masking callable (get_readonly_fields), not the form."""
        return {field.name for field in entity_foreign_keys(self.model, self._read_only(request))}

    def get_fields(self, request, obj=None):
        hidden = self._hidden(request)
        return [name for name in super().get_fields(request, obj) if name not in hidden]

    def get_readonly_fields(self, request, obj=None):
        # A read-only link to another record is shown like on the card: "hidden record" when out of reach.
        linked = self._read_only_links(request)
        read_only = [_masked_link(self.model, name) if name in linked else name for name in self._read_only(request)]
        return [*super().get_readonly_fields(request, obj), *read_only]

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            names = [field.name for field in self.model._meta.concrete_fields]
            obj.admin_reachable = reachable_targets(request.user, [obj], names)
        return obj

    def get_list_display(self, request):
        hidden = self._hidden(request)
        return [name for name in super().get_list_display(request) if name not in hidden]

    def get_list_filter(self, request):
        hidden = self._hidden(request)
        return [name for name in super().get_list_filter(request) if name.split("__")[0] not in hidden]

    def get_search_fields(self, request):
        hidden = self._hidden(request)
        return [name for name in super().get_search_fields(request) if name.split("__")[0] not in hidden]

    def get_inlines(self, request, obj):
        modes = field_modes(request.user, self.model.entity().key)
        return [inline for inline in super().get_inlines(request, obj)
                if modes.get(getattr(inline, "channel", None)) != FieldRule.HIDDEN]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and scope_q(request.user, self.model, ADD) is not None

    def has_view_permission(self, request, obj=None):
        base = super().has_view_permission(request, obj)
        return base and (obj is None or can(request.user, obj, READ))

    def has_change_permission(self, request, obj=None):
        base = super().has_change_permission(request, obj)
        return base and (obj is None or can(request.user, obj, EDIT))

    def has_delete_permission(self, request, obj=None):
        base = super().has_delete_permission(request, obj)
        return base and (obj is None or can(request.user, obj, DELETE))

    def save_model(self, request, obj, form, change):
        """Nothing here: save_related writes the record with its phones and emails through the write services."""

    def save_related(self, request, form, formsets, change):
        """The record through record_create / record_update (rights, field rules, history, events, the re-check of
        scope), then its links through record_link / record_unlink. A refusal rolls the admin's transaction back."""
        from .customfields import is_custom
        from .record_input import writable_fields
        from .services import record_create, record_update

        names = writable_fields(self.model)
        data = {name: form.cleaned_data[name] for name in form.fields if name in names and name in form.cleaned_data}
        for name, field in form.fields.items():
            if is_custom(name) and not field.disabled and name in form.cleaned_data:
                value = form.cleaned_data[name]
                if value is None and field.custom_field.type == "file":
                    continue  # no new upload
                data[name] = None if value is False else value
        channel_sets = [fs for fs in formsets if isinstance(fs, BaseChannelFormSet)]
        for formset in channel_sets:
            formset.save(commit=False)  # only lists what changed, for the admin's change message
        channels = {str(fs.channel.value): fs.wanted() for fs in channel_sets if fs.has_changed()} or None
        try:
            if change:
                obj = record_update(user=request.user, obj=form.instance, data=data, channels=channels)
            else:
                obj = record_create(user=request.user, entity=self.model.entity(), data=data, channels=channels)
        except ValidationError as error:
            # The admin's own form validated what it shows; a refusal only the write services see is a 403.
            raise PermissionDenied("; ".join(error.messages)) from None
        form.instance.pk, form.instance._state.adding = obj.pk, False
        for formset in formsets:
            if formset not in channel_sets:
                formset.instance = form.instance
                self.save_formset(request, form, formset, change)

    def save_formset(self, request, form, formset, change):
        """Link rows (contact ↔ company...) go through record_link / record_unlink like the card's own form:
        rights, the target's visibility, one primary link, timeline entries and duplicate keys follow."""
        relation = self._relation_of(formset)
        if relation is None:
            return super().save_formset(request, form, formset, change)
        from .services import record_link, record_unlink

        obj = form.instance
        changed = formset.save(commit=False)
        for link in formset.deleted_objects:
            record_unlink(user=request.user, obj=obj, relation=relation, link_id=link.pk)
        for link in changed:
            target_field = f"{relation.to_field}_id"
            stored = type(link).objects.filter(pk=link.pk).values_list(target_field, flat=True).first()
            if stored is not None and stored != getattr(link, target_field):  # the row now names another record
                record_unlink(user=request.user, obj=obj, relation=relation, link_id=link.pk)
            extra = {name: getattr(link, name) for name in relation.extra_fields}
            record_link(user=request.user, obj=obj, relation=relation, target=getattr(link, relation.to_field),
                        **extra)
        return None

    def _relation_of(self, formset):
        for relation in self.model.entity().relations:
            if relation.through_model is formset.model and formset.fk.name == relation.from_field:
                return relation
        return None

    def delete_model(self, request, obj):
        from .services import record_delete

        record_delete(user=request.user, obj=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            self.delete_model(request, obj)

    # History: only of records the user may read, without the fields their role hides, and never reverted here
    # (a revert would skip the record services).
    def history_view(self, request, object_id, extra_context=None):
        if self.get_object(request, object_id) is None:
            raise Http404
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied
        if self.get_object(request, object_id) is None:
            raise Http404
        return super().history_form_view(request, object_id, version_id, extra_context)

    def revert_disabled(self, request, obj=None):
        return True

    def get_historical_record_context_helper(self, request, historical_record):
        return HiddenFieldsHistoryHelper(self.model, historical_record, hidden=self._hidden(request))


_MASKED = {}


def _masked_link(model, name):
    """A read-only admin field (a callable, one per model field) naming the linked record only if reachable."""
    key = (model, name)
    if key not in _MASKED:
        def show(obj):
            if getattr(obj, model._meta.get_field(name).attname) is None:
                return "—"
            value, _link = restricted_value(obj, name, getattr(obj, "admin_reachable", set()))
            return value

        show.short_description = model._meta.get_field(name).verbose_name
        _MASKED[key] = show
    return _MASKED[key]


class HiddenFieldsHistoryHelper(HistoricalRecordContextHelper):
    def __init__(self, model, historical_record, *, hidden):
        super().__init__(model, historical_record)
        self.hidden = hidden

    def context_for_delta_changes(self, delta):
        changes = [change for change in delta.changes if change.field not in self.hidden]
        return super().context_for_delta_changes(dataclasses.replace(delta, changes=changes))
