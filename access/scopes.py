"""Which records a user may see or touch: the one place that turns a user into a queryset filter.

The role matrix of the access issue replaces the rules below; every caller already goes through
`CRMQuerySet.visible_to()` and `can()`, so only this module changes.

Interim rules:
- superusers: everything;
- read: own records, records of the user's departments (and the subtrees of departments they head),
  records marked opened; a user with the model's `view_` permission (e.g. marketing) reads everything;
- edit/delete: own records and those of departments the user heads (with their subdepartments);
- add: any active user.
"""

from django.db.models import Q

READ, ADD, EDIT, DELETE, EXPORT, IMPORT = "read", "add", "edit", "delete", "export", "import"
ACTIONS = (READ, ADD, EDIT, DELETE, EXPORT, IMPORT)


def member_department_ids(user):
    from access.models import Membership

    cache = user.__dict__.setdefault("_crm_scope_cache", {})
    if "member" not in cache:
        cache["member"] = set(Membership.objects.filter(user=user).values_list("department_id", flat=True))
    return cache["member"]


def headed_department_ids(user):
    from access.models import Department

    cache = user.__dict__.setdefault("_crm_scope_cache", {})
    if "headed" not in cache:
        ids = set()
        for department in Department.objects.filter(head=user):
            ids |= department.subtree_ids()
        cache["headed"] = ids
    return cache["headed"]


def scope_q(user, model, action=READ):
    """A Q object selecting what `user` may do `action` on, or None when nothing at all."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Q()
    if action == ADD:
        return Q()
    headed = headed_department_ids(user)
    if action in (READ, EXPORT):
        if user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}"):
            return Q()
        return Q(owner=user) | Q(department_id__in=member_department_ids(user) | headed) | Q(opened=True)
    return Q(owner=user) | Q(department_id__in=headed)


def can(user, obj, action):
    """Whether `user` may do `action` on one record (same rules as the queryset filter)."""
    q = scope_q(user, type(obj), action)
    if q is None:
        return False
    if action == ADD:
        return True
    return type(obj).objects.filter(q, pk=obj.pk).exists()


def primary_department(user):
    from access.models import Membership

    if user is None:
        return None
    membership = (
        Membership.objects.filter(user=user).order_by("-is_primary", "pk").select_related("department").first()
    )
    return membership.department if membership else None
