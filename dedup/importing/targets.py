"""What a column can be imported into, for any registered entity: read from the registry and the model.

Target keys (stable: saved mappings store them):
- "field:<name>"            a model field (text, date, number, yes/no, choice, a list like source or stage, the
                            responsible user, tags);
- "channel:<channel>:<kind>" a phone, email, messenger or web link of that kind (entities with channels);
- "link:<name>[.<attr>]"    another record this one is linked to, by a registry relation ("companies",
                            "contacts") or a foreign key to an entity ("company"); `attr` says what the cell holds:
                            name (default), id, tax_id, phone or email. Phase B finds or creates the record;
- "special:full_name"       a full name ("ФИО") split into last, first and middle name;
- "custom:<key>"            a custom field, from the providers registered with `register_target_provider()`.

Nothing here names an entity: a fifth entity gets its targets from its model and its registry entry.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from crm_site.models import Communication
from crm_site.registry import registry

# Fields every entity has that an import never sets from a file (bookkeeping, the bin, the JSON column that
# custom fields live in: they get targets of their own).
SKIPPED_FIELDS = {"id", "department", "created_at", "updated_at", "created_by", "updated_by", "deleted_at",
                  "deleted_by", "custom_fields"}
PERSON_FIELDS = ("last_name", "first_name", "middle_name")
LINK_ATTRIBUTES = {
    "name": _("name"), "id": _("ID"), "tax_id": _("tax ID"), "phone": pgettext_lazy("import target", "phone"),
    "email": pgettext_lazy("import target", "email"),
}


@dataclass(frozen=True)
class Target:
    key: str
    label: object  # str or lazy translation
    kind: str  # "field" | "channel" | "link" | "special" | "custom"
    name: str = ""  # field name, link name, custom field key
    channel: str = ""
    channel_kind: str = ""
    attribute: str = ""  # of a link: name, id, tax_id, phone, email
    field: object = None  # the model field (kind "field", and "link" through a foreign key)
    multi: bool = False  # a cell may hold several values
    parse: object = None  # custom fields: callable(cell, locale) -> value, raising values.BadValue
    labels: tuple = ()  # other labels a header may carry for this target (e.g. the field's name)


_providers = []


def register_target_provider(provider):
    """Hook for custom fields (and anything else an app adds): `provider(entity)` returns Targets of kind "custom"
    with `name` (the key in the record's custom_fields), `label` and `parse(cell, locale)`. The row mapper puts
    the parsed values into `MappedRow.custom`."""
    if provider not in _providers:
        _providers.append(provider)
    return provider


def unregister_target_provider(provider):
    if provider in _providers:
        _providers.remove(provider)


def mapping_targets(entity):
    """Every target of `entity` (a registry Entity or its key), in the order a mapping screen lists them."""
    entity = registry[entity] if isinstance(entity, str) else entity
    targets = list(_model_targets(entity))
    for provider in _providers:
        targets.extend(provider(entity))
    return targets


def targets_by_key(entity):
    return {target.key: target for target in mapping_targets(entity)}


_cache = {}


def _model_targets(entity):
    """The entity's own targets, computed once per entity (models don't change while the process runs)."""
    cached = _cache.get(id(entity))
    if cached is None or cached[0] is not entity:
        cached = _cache[id(entity)] = (entity, _compute_targets(entity))
    return cached[1]


def _compute_targets(entity):
    model = entity.model
    names = {field.name for field in model._meta.get_fields()}
    targets = []
    if all(name in names for name in PERSON_FIELDS[:2]):
        targets.append(Target("special:full_name", _("Full name (split into last, first and middle name)"),
                              "special", name="full_name"))
    relation_fields = {relation.name for relation in entity.relations}
    for field in model._meta.get_fields():
        if field.name in SKIPPED_FIELDS or field.auto_created or not getattr(field, "editable", False):
            continue
        if not (field.concrete or field.many_to_many):
            continue
        related = field.related_model
        if related is not None and _entity_of(related) is not None:
            if field.many_to_many and (field.name in relation_fields or _relation_through(entity, field)):
                continue  # a registry relation: its link targets come below, with the relation's name
            targets.extend(_link_targets(field.name, capfirst(field.verbose_name), _entity_of(related), field))
            continue
        targets.append(Target(f"field:{field.name}", capfirst(field.verbose_name), "field", name=field.name,
                              field=field, multi=field.many_to_many, labels=(field.name,)))
    for relation in entity.relations:
        targets.extend(_link_targets(relation.name, capfirst(relation.label), _entity_of(relation.target_model)))
    if entity.has_channels:
        labels = dict(Communication.Kind.choices)
        for channel, kinds in Communication.KINDS_BY_CHANNEL.items():
            channel_label = dict(Communication.Channel.choices)[channel]
            for kind in kinds:
                targets.append(Target(f"channel:{channel}:{kind}", _ChannelLabel(channel_label, labels[kind]),
                                      "channel", channel=str(channel), channel_kind=str(kind), multi=True))
    return tuple(targets)


def _link_targets(name, label, target_entity, field=None):
    attributes = ["name", "id"]
    if target_entity is not None:
        target_names = {f.name for f in target_entity.model._meta.get_fields()}
        if "tax_id" in target_names:
            attributes.append("tax_id")
        if target_entity.has_channels:
            attributes += ["phone", "email"]
    targets = []
    for attribute in attributes:
        key = f"link:{name}" if attribute == "name" else f"link:{name}.{attribute}"
        shown = label if attribute == "name" else _ChannelLabel(label, LINK_ATTRIBUTES[attribute])
        targets.append(Target(key, shown, "link", name=name, attribute=attribute, field=field,
                              multi=field is None or field.many_to_many))
    return targets


def _relation_through(entity, field):
    through = getattr(field.remote_field, "through", None)
    return through is not None and any(relation.through_model is through for relation in entity.relations)


def _entity_of(model):
    try:
        return registry.for_model(model)
    except KeyError:
        return None


class _ChannelLabel:
    """ "Phone: mobile", translated when shown (the parts are lazy)."""

    def __init__(self, first, second):
        self.first, self.second = first, second

    def __str__(self):
        return f"{capfirst(str(self.first))}: {self.second}"

    def __eq__(self, other):
        return str(self) == str(other)

    def __hash__(self):
        return hash((str(self.first), str(self.second)))


def value_type(target):
    """How a target's cells are parsed: "text", "choice", "date", "datetime", "decimal", "integer", "bool",
    "lookup" (a list: source, stage, currency...), "user", "tags", or the target's own kind."""
    if target.kind != "field":
        return target.kind
    field = target.field
    if field.many_to_many:
        return "tags"
    if field.many_to_one:
        from django.contrib.auth import get_user_model

        return "user" if field.related_model is get_user_model() else "lookup"
    if field.choices:
        return "choice"
    if isinstance(field, models.BooleanField):
        return "bool"
    if isinstance(field, models.DateTimeField):
        return "datetime"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.DecimalField):
        return "decimal"
    if isinstance(field, (models.IntegerField, models.FloatField)):
        return "integer"
    return "text"
