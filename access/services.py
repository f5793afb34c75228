"""Sharing one record with one colleague (guardian grants in the entity's direct foreign-key tables)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from guardian.shortcuts import assign_perm, remove_perm

from .audit import audit_log
from .models import AuditLog
from .scopes import EDIT, READ

SHARE_LEVELS = (READ, EDIT)


def can_share(user, obj):
    """Whether `user` may share `obj` or take a share back: its owner, or a role whose edit level covers it. A
    colleague the record was shared with (even for editing) can't pass it on."""
    from .scopes import level, level_q

    if user is None or not user.is_authenticated or not user.is_active or obj.pk is None:
        return False
    if user.is_superuser or obj.owner_id == user.pk:
        return True
    q = level_q(user, level(user, type(obj), EDIT))
    return q is not None and type(obj).objects.filter(q, pk=obj.pk).exists()


def _codename(obj, share_level):
    prefix = "change" if share_level == EDIT else "view"
    return f"{type(obj)._meta.app_label}.{prefix}_{type(obj)._meta.model_name}"


@transaction.atomic
def share_grant(*, user, obj, grantee, level, request=None):
    """Let `grantee` read (`level="read"`) or read and edit (`"edit"`) `obj`; replaces an earlier grant."""
    if not can_share(user, obj):
        raise PermissionDenied(_("Only the owner, or someone whose role lets them edit this record, can share it."))
    if level not in SHARE_LEVELS:
        raise ValidationError(_("Choose read or edit."))
    if grantee is None or not grantee.is_active or grantee.pk == user.pk:
        raise ValidationError(_("Choose an active colleague other than yourself."))
    other = READ if level == EDIT else EDIT
    remove_perm(_codename(obj, other), grantee, obj)
    assign_perm(_codename(obj, level), grantee, obj)
    audit_log(AuditLog.GRANT_ADDED, user=user, request=request, obj=obj,
              details={"grantee": grantee.get_username(), "level": level})


@transaction.atomic
def share_revoke(*, user, obj, grantee, request=None):
    """Take back whatever was shared of `obj` with `grantee`."""
    if not can_share(user, obj):
        raise PermissionDenied(_("Only the owner, or someone whose role lets them edit this record, can share it."))
    removed = shares_of(obj).get(grantee.pk)
    for level in SHARE_LEVELS:
        remove_perm(_codename(obj, level), grantee, obj)
    if removed:
        audit_log(AuditLog.GRANT_REMOVED, user=user, request=request, obj=obj,
                  details={"grantee": grantee.get_username(), "level": removed})
    return bool(removed)


def shares_of(obj):
    """{user id: "read" | "edit"} of the colleagues `obj` is shared with."""
    from .grants import grant_models_for

    user_grant, _group_grant = grant_models_for(type(obj))
    shares = {}
    for user_id, codename in user_grant.objects.filter(content_object=obj).values_list(
            "user_id", "permission__codename"):
        level = EDIT if codename.startswith("change_") else READ
        if shares.get(user_id) != EDIT:
            shares[user_id] = level
    return shares


def share_panel_context(request, obj, entity):
    """The card's sharing panel: only for users who may share the record."""
    if not can_share(request.user, obj):
        return None
    shares = shares_of(obj)
    users = get_user_model().objects.filter(is_active=True).exclude(pk=request.user.pk).order_by(
        "last_name", "first_name", "username")
    people = list(users)
    return {
        "object": obj,
        "entity": entity,
        "shared": [{"user": u, "level": shares[u.pk]} for u in people if u.pk in shares],
        "colleagues": [u for u in people if u.pk not in shares],
    }
