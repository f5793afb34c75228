"""Direct foreign-key guardian permission models, one user and one group table per entity.

guardian finds them through the reverse relation of the entity (`get_user_obj_perms_model(obj)`), so
`assign_perm("contacts.view_contact", user, contact)` writes there, and `ON DELETE CASCADE` removes the
grants with the record. Each entity's app declares its own pair in its models.py (a system check reports a
missing one):

    ContactUserGrant, ContactGroupGrant = grant_models("contacts.Contact", "Contact")
"""

from django.db import models
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase


def grant_models(model_label, name):
    """(UserGrant, GroupGrant) model classes for the entity `model_label` ("contacts.Contact"), in its app."""
    app_label = model_label.split(".")[0]
    module = f"{app_label}.models"

    user_grant = type(
        f"{name}UserGrant",
        (UserObjectPermissionBase,),
        {
            "__module__": module,
            "content_object": models.ForeignKey(model_label, on_delete=models.CASCADE, related_name="user_grants"),
            "Meta": type("Meta", (UserObjectPermissionBase.Meta,), {"app_label": app_label,
                                                                     "verbose_name": f"{name} user grant"}),
        },
    )
    group_grant = type(
        f"{name}GroupGrant",
        (GroupObjectPermissionBase,),
        {
            "__module__": module,
            "content_object": models.ForeignKey(model_label, on_delete=models.CASCADE, related_name="group_grants"),
            "Meta": type("Meta", (GroupObjectPermissionBase.Meta,), {"app_label": app_label,
                                                                      "verbose_name": f"{name} group grant"}),
        },
    )
    return user_grant, group_grant


def grant_models_for(model):
    """The (UserGrant, GroupGrant) of an entity model, or (None, None)."""
    user_grant = group_grant = None
    for relation in model._meta.related_objects:
        related = relation.related_model
        if issubclass(related, UserObjectPermissionBase):
            user_grant = related
        elif issubclass(related, GroupObjectPermissionBase):
            group_grant = related
    return user_grant, group_grant
