"""What points at a record, found by introspection, so a merge can move it and an undo move it back.

- reverse foreign keys (a deal's company, a contact's company links, a lead's converted contact...);
- rows addressed by (content type, object id): any GenericForeignKey, or a model with `content_type` and
  `object_id` fields (timeline links, guardian grants), unless skipped;
- auto-created many-to-many tables (tags).
Apps add models whose columns are named differently with `register_linked()`, and keep rows where they
are with `skip_linked()` (an audit log must keep pointing at what it logged).
"""

from dataclasses import dataclass

from django.apps import apps
from django.contrib.contenttypes.fields import GenericForeignKey

_extra = {}  # label -> (ct_field, fk_field)
_skipped = {"access.auditlog", "crm_site.communication"}  # communications are merged with deduplication


def register_linked(model_label, *, ct_field="content_type", fk_field="object_id"):
    _extra[model_label.lower()] = (ct_field, fk_field)


def skip_linked(model_label):
    _skipped.add(model_label.lower())


@dataclass(frozen=True)
class GenericLink:
    model: type
    ct_field: str  # name of the ContentType foreign key
    fk_field: str  # name of the object id column (int or text)


def generic_links():
    found = []
    for model in apps.get_models():
        label = model._meta.label_lower
        if label in _skipped or model._meta.app_label == "dedup" or hasattr(model, "instance_type"):
            continue  # `instance_type`: simple-history's historical models keep the past as it was
        pair = _extra.get(label)
        if pair is None:
            gfks = [f for f in model._meta.private_fields if isinstance(f, GenericForeignKey)]
            if gfks:
                pair = (gfks[0].ct_field, gfks[0].fk_field)
            else:
                names = {f.name for f in model._meta.concrete_fields}
                if {"content_type", "object_id"} <= names:
                    pair = ("content_type", "object_id")
        if pair:
            found.append(GenericLink(model, *pair))
    return found


def reverse_foreign_keys(model):
    """(related model, fk field) for every visible foreign key pointing at `model`."""
    found = []
    for rel in model._meta.related_objects:
        if rel.many_to_many or hasattr(rel.related_model, "instance_type"):
            continue
        if rel.related_model._meta.label_lower in _skipped:
            continue
        found.append((rel.related_model, rel.field))
    return found


def unique_sets(model, field_name):
    """Sets of fields that must be unique together and include `field_name` (to avoid duplicate links)."""
    sets = [tuple(names) for names in model._meta.unique_together if field_name in names]
    for constraint in model._meta.total_unique_constraints:
        if field_name in constraint.fields:
            sets.append(tuple(constraint.fields))
    return sets
