"""`user.has_perm("contacts.change_contact", obj)` answered by the role matrix (grants: guardian's backend).

view_* -> read, add_* -> add, change_* -> edit, delete_* -> delete, export_* -> export, import_* -> import.
Without an object the answer is whether the user has the action at any level (what the admin index asks).
Permissions of models that are not registered entities are left to the other backends.
"""

from django.apps import apps

from . import scopes

ACTION_BY_PREFIX = {
    "view": scopes.READ, "add": scopes.ADD, "change": scopes.EDIT, "delete": scopes.DELETE,
    "export": scopes.EXPORT, "import": scopes.IMPORT,
}


def entity_model_and_action(perm):
    """("contacts.change_contact") -> (Contact, "edit"), or (None, None) for anything else."""
    from crm_site.registry import registry

    try:
        app_label, codename = perm.split(".", 1)
        prefix, model_name = codename.split("_", 1)
        model = apps.get_model(app_label, model_name)
    except (ValueError, LookupError):
        return None, None
    if prefix not in ACTION_BY_PREFIX:
        return None, None
    try:
        registry.for_model(model)
    except KeyError:
        return None, None
    return model, ACTION_BY_PREFIX[prefix]


class RoleMatrixBackend:
    """Answers permission checks only; authentication is left to ModelBackend."""

    def authenticate(self, request, **credentials):
        return None

    def get_user(self, user_id):
        return None

    def has_perm(self, user_obj, perm, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous:
            return False
        model, action = entity_model_and_action(perm)
        if model is None:
            return False
        if obj is None:
            return scopes.level(user_obj, model, action) > 0
        if not isinstance(obj, model):
            return False
        return scopes.can(user_obj, obj, action)

    def has_module_perms(self, user_obj, app_label):
        from crm_site.registry import registry

        if not user_obj.is_active or user_obj.is_anonymous:
            return False
        return any(entity.model._meta.app_label == app_label
                   and any(scopes.level(user_obj, entity.model, action) > 0 for action in scopes.ACTIONS)
                   for entity in registry)
