"""Commands take an entity as its key or its plural: `contact`, `contacts`, `company`, `companies`."""

from django.core.management.base import CommandError

from crm_site.registry import registry


def resolve_entity(name):
    """The registry key for `name` (key, url prefix or English plural, any case); CommandError otherwise."""
    wanted = (name or "").strip().casefold()
    for entity in registry:
        spellings = {entity.key, entity.url_prefix, f"{entity.key}s", str(entity.model._meta.verbose_name_plural),
                     entity.model._meta.model_name, entity.model._meta.model_name + "s"}
        if wanted in {s.casefold() for s in spellings}:
            return entity.key
    known = ", ".join(f"{e.key} ({e.url_prefix})" for e in registry)
    raise CommandError(f"unknown entity {name!r}; known: {known}")
