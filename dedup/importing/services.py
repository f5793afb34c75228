"""Saved mappings: save, list, load, delete. Whoever may import the record type may use and save them."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from access.scopes import IMPORT, scope_q
from crm_site.registry import registry

from .mapping import Mapping
from .models import ImportMapping
from .rows import ImportDefaults

OPTION_KEYS = ("file_format", "encoding", "delimiter", "sheet", "date_order", "decimal_comma", "region")


def _entity(entity):
    return registry[entity] if isinstance(entity, str) else entity


def _check_import_right(user, entity):
    if scope_q(user, entity.model, IMPORT) is None:
        raise PermissionDenied


@transaction.atomic
def import_mapping_save(*, user, entity, name, mapping, options=None, defaults=None):
    """Save `mapping` (a Mapping) under `name` for the record type, replacing a mapping of that name."""
    entity = _entity(entity)
    _check_import_right(user, entity)
    name = " ".join(str(name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the mapping a name.")})
    if len(name) > ImportMapping._meta.get_field("name").max_length:
        raise ValidationError({"name": _("The name is too long.")})
    if mapping.entity != entity.key:
        raise ValidationError(_("This mapping is for another record type."))
    options = {key: value for key, value in (options or {}).items() if key in OPTION_KEYS}
    defaults = defaults if isinstance(defaults, ImportDefaults) else ImportDefaults.from_json(defaults)
    saved, _created = ImportMapping.objects.update_or_create(
        entity=entity.key, name=name,
        defaults={"columns": mapping.as_json()["columns"], "options": options, "defaults": defaults.as_json(),
                  "created_by": user},
    )
    return saved


def import_mappings(*, user, entity):
    """The saved mappings of a record type the user may import; none otherwise."""
    entity = _entity(entity)
    if scope_q(user, entity.model, IMPORT) is None:
        return ImportMapping.objects.none()
    return ImportMapping.objects.filter(entity=entity.key)


def import_mapping_load(*, user, entity, name, headers):
    """(Mapping applied to `headers`, options dict, ImportDefaults) of the saved mapping `name`."""
    entity = _entity(entity)
    _check_import_right(user, entity)
    try:
        saved = ImportMapping.objects.get(entity=entity.key, name=name)
    except ImportMapping.DoesNotExist:
        raise ValidationError(_("There is no saved mapping “%(name)s”.") % {"name": name}) from None
    mapping = Mapping.from_json({"entity": entity.key, "columns": saved.columns}, headers)
    return mapping, dict(saved.options), ImportDefaults.from_json(saved.defaults)


@transaction.atomic
def import_mapping_delete(*, user, entity, name):
    entity = _entity(entity)
    _check_import_right(user, entity)
    ImportMapping.objects.filter(entity=entity.key, name=name).delete()
