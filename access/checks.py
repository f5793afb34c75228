from django.core.checks import Error, register


@register()
def every_entity_has_grant_tables(app_configs, **kwargs):
    """Sharing needs direct foreign-key grant tables per entity (access/models.py, one line each)."""
    from crm_site.registry import registry

    from .grants import grant_models_for

    errors = []
    for entity in registry:
        if None in grant_models_for(entity.model):
            errors.append(Error(f"entity {entity.key!r} has no grant models", hint="declare grant_models(...) "
                                "in the entity app's models.py and make a migration", id="access.E001"))
    return errors
