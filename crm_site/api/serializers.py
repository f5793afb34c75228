"""One serializer factory for every registered entity (`serializer_for(entity)`).

Output is built per page, not per record: versions, phones/emails, links, many-to-many lists and the
reachability of linked records are each read in one query for the whole page (`RecordData`). Input is only
parsed and type-checked here; the write services (crm_site.services) validate, check rights and field rules.
Related records are plain ids: whether one exists is never told apart from "you may not use it".
"""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from crm_site import record_input
from crm_site.models import Communication

from . import hooks
from .record_data import RecordData

CHANNEL_FIELDS = {"phones": "phone", "emails": "email", "messengers": "messenger", "web": "web"}
READ_ONLY = ("id", "version", "created_at", "updated_at", "department", "created_by", "updated_by")
MAX_ID = 2**63 - 1


class RecordIdField(serializers.PrimaryKeyRelatedField):
    """A related record by id; existence and access are checked by the write services, in one message."""

    default_error_messages = {"incorrect_type": _("Give the id of a record.")}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (int, str)):
            self.fail("incorrect_type", data_type=type(data).__name__)
        text = str(data).strip()
        if not text.isdigit() or int(text) > MAX_ID:
            self.fail("incorrect_type", data_type=type(data).__name__)
        return int(text)

    def to_representation(self, value):
        return getattr(value, "pk", value)


class ChannelItemSerializer(serializers.Serializer):
    id = serializers.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    value = serializers.CharField(max_length=255, allow_blank=True)
    kind = serializers.ChoiceField(choices=Communication.Kind.choices, required=False)
    is_primary = serializers.BooleanField(required=False, default=False)


def _link_serializer(entity, relation):
    through = relation.through_model
    attrs = {
        "id": serializers.IntegerField(read_only=True),
        "target": serializers.IntegerField(min_value=1, max_value=MAX_ID,
                                           help_text=f"id of the {relation.target_model._meta.model_name}"),
    }
    for name in relation.extra_fields:
        field = through._meta.get_field(name)
        builder = serializers.ModelSerializer()
        field_class, kwargs = builder.build_standard_field(name, field)
        kwargs.pop("validators", None)
        kwargs["required"] = False
        attrs[name] = field_class(**kwargs)
    name = f"{entity.model.__name__}{relation.name.title().replace('_', '')}Link"
    return type(name, (serializers.Serializer,), attrs)


def _links_serializer(entity):
    attrs = {relation.name: serializers.ListField(child=_link_serializer(entity, relation)(), required=False)
             for relation in entity.relations}
    return type(f"{entity.model.__name__}Links", (serializers.Serializer,), attrs)


class RecordSerializer(serializers.ModelSerializer):
    serializer_related_field = RecordIdField
    version = serializers.IntegerField(read_only=True, help_text="Send it back (field or If-Match) to refuse "
                                                                  "saving over a newer change (409).")

    def _plan(self):
        """(name, kind, attname, to_representation) per model field, worked out once per serializer class
        (building a ModelSerializer's fields costs more than writing a page of rows)."""
        cls = type(self)
        plan = cls.__dict__.get("_plan_cache")
        if plan is None:
            model = self.Meta.entity.model
            plan = []
            fields = cls().fields  # an instance of its own: the fields' representation needs no context
            for name in self.Meta.model_fields:
                field = model._meta.get_field(name)
                kind = "m2m" if field.many_to_many else "fk" if field.many_to_one else "value"
                plan.append((name, kind, field.attname, fields[name].to_representation))
            cls._plan_cache = plan
        return plan

    def _page_plan(self, data):
        """What every row of a page shares, worked out once per page: the plan without hidden fields, the
        channel fields and relations shown, the custom fields reader."""
        plan = data.__dict__.get("_serializer_plan")
        if plan is None:
            hidden, entity = data.hidden, self.Meta.entity
            plan = data.__dict__["_serializer_plan"] = (
                [(name, kind, attname, represent, kind == "fk" and name in data.entity_fks)
                 for name, kind, attname, represent in self._plan() if name not in hidden],
                [(field_name, channel) for field_name, channel in CHANNEL_FIELDS.items() if channel not in hidden]
                if entity.has_channels else None,
                [r.name for r in entity.relations if r.name not in hidden] if entity.relations else None,
                hooks.custom_fields_reader(data.user, entity, hidden),
                _datetime_writer(),
            )
        return plan

    def to_representation(self, obj):
        data = self.context.get("record_data")
        if data is None or obj.pk not in data.versions:
            data = RecordData(self.context["user"], self.Meta.entity, [obj])
        fields, channel_fields, relations, custom_fields, datetime = self._page_plan(data)
        pk = obj.pk
        out = {"id": pk, "version": data.versions.get(pk, 0)}
        for name, kind, attname, represent, checked in fields:
            if kind == "m2m":
                out[name] = data.m2m.get(name, {}).get(pk, [])
            elif kind == "fk":
                value = getattr(obj, attname)
                if checked and value is not None and (name, value) not in data.reachable:
                    value = None  # a linked record out of the user's reach: not even its id
                out[name] = value
            else:
                value = getattr(obj, attname)
                out[name] = represent(value) if value is not None else None
        out["created_at"] = datetime(obj.created_at)
        out["updated_at"] = datetime(obj.updated_at)
        out["department"] = obj.department_id if "department" not in data.hidden else None
        if channel_fields is not None:
            channels = data.channels.get(pk, {})
            for field_name, channel in channel_fields:
                out[field_name] = channels.get(channel, [])
        if relations is not None:
            links = data.links.get(pk, {})
            out["links"] = {name: links.get(name, []) for name in relations}
        out["custom_fields"] = custom_fields(obj)
        return out


_DATETIME = serializers.DateTimeField()


def _datetime_writer():
    """DateTimeField.to_representation with the request's time zone looked up once per page, not per value
    (the lookup is most of its cost); the field itself when a non-ISO output format is set."""
    from django.conf import settings
    from django.utils import timezone
    from rest_framework.settings import ISO_8601, api_settings

    if str(api_settings.DATETIME_FORMAT).lower() != ISO_8601 or not settings.USE_TZ:
        return _DATETIME.to_representation
    zone = timezone.get_current_timezone()

    def write(value):
        if value is None:
            return None
        text = (value.astimezone(zone) if timezone.is_aware(value) else value).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write


@extend_schema_field({"type": "object", "additionalProperties": True})
class CustomFieldsField(serializers.DictField):
    pass


_cache = {}


def serializer_for(entity):
    """The serializer class of `entity`: its writable fields (services' rules), read-only bookkeeping, nested
    phones/emails/messengers/web and links, custom fields. Built once per entity."""
    if entity.key in _cache:
        return _cache[entity.key]
    model = entity.model
    writable = list(record_input.writable_fields(model))
    attrs = {}
    extra_kwargs = {}
    for name in writable:
        extra_kwargs[name] = {"required": False, "validators": []}
        field = model._meta.get_field(name)
        if field.many_to_many:
            extra_kwargs[name]["allow_empty"] = True
        if getattr(field, "null", False) or field.many_to_one:
            extra_kwargs[name]["allow_null"] = True
    if entity.has_channels:
        for field_name in CHANNEL_FIELDS:
            attrs[field_name] = ChannelItemSerializer(many=True, required=False)
    if entity.relations:
        attrs["links"] = _links_serializer(entity)(required=False)
    attrs["custom_fields"] = CustomFieldsField(required=False)
    attrs["created_at"] = serializers.DateTimeField(read_only=True)
    attrs["updated_at"] = serializers.DateTimeField(read_only=True)
    attrs["department"] = serializers.IntegerField(read_only=True, allow_null=True)
    meta = type("Meta", (), {
        "model": model,
        "fields": ["id", "version", *writable, "created_at", "updated_at", "department", *attrs.keys()],
        "read_only_fields": ["id"],
        "extra_kwargs": extra_kwargs,
        "validators": [],
        "entity": entity,
        "model_fields": writable,
    })
    meta.fields = list(dict.fromkeys(meta.fields))
    attrs["Meta"] = meta
    cls = type(f"{model.__name__}Serializer", (RecordSerializer,), attrs)
    _cache[entity.key] = cls
    return cls


def write_arguments(entity, validated, *, partial):
    """Keyword arguments of record_create / record_update from a serializer's validated data."""
    validated = dict(validated)
    channels = {}
    for field_name, channel in CHANNEL_FIELDS.items():
        if field_name in validated:
            channels[channel] = [dict(item) for item in validated.pop(field_name)]
    links = None
    if "links" in validated:  # {relation: [{"target", extra...}]}: each relation named is replaced
        links = {name: [dict(item) for item in items] for name, items in validated.pop("links").items()}
    data = {}
    if "custom_fields" in validated:
        data.update(hooks.custom_fields_in(validated.pop("custom_fields")))
    for name, value in validated.items():
        data[name] = value
    return {"data": data, "channels": channels or None, "links": links}
