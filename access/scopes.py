"""Which records a user may see or touch: the one place that turns a user into a queryset filter.

Every caller goes through `CRMQuerySet.visible_to(user, action)` (lists, search, autocomplete, boards,
counts, exports...) or `can(user, obj, action)` (one record), so the rules live only here.

The rules (the role matrix, see access/models.py):
- superusers: everything; inactive or anonymous users: nothing;
- otherwise the user's roles — assigned to the user, or to a department the user is a member of; with no
  role at all, the roles marked `is_default` — give a `Level` per entity and action; the most permissive wins;
- a level becomes one filter on the indexed owner / department / opened columns:
  OWN owner = user; DEPARTMENT also department in the user's departments (member of, or head of);
  SUBDEPARTMENTS also every department below those; ALL_OPEN also every record marked opened; ALL everything;
- read and edit also reach the records shared with the user (guardian grants in the direct foreign-key tables:
  `view_*` gives read, `change_*` gives read and edit), as an `id IN (subquery)` in the same filter;
- add: allowed at any level but none (the record must then be within the user's read scope: the write services
  re-check it after the write).

The user's roles and departments are resolved once per request and kept on the user object (a fresh
object every request), and in the process while the access data is unchanged (crm_site.epochs), so a change to
roles, assignments or grants applies on the user's next request.
"""

from django.db import connection
from django.db.models import Q

READ, ADD, EDIT, DELETE, EXPORT, IMPORT = "read", "add", "edit", "delete", "export", "import"
ACTIONS = (READ, ADD, EDIT, DELETE, EXPORT, IMPORT)

CACHE = "_crm_scope_cache"  # attribute on the user object
EPOCH = "access"  # the counter of the tables watched_tables() names (crm_site.epochs)


def _cache(user):
    return user.__dict__.setdefault(CACHE, {})


def forget(user):
    """Drop what was resolved for `user` (the next check reads roles, departments and grants again)."""
    from crm_site import epochs

    user.__dict__.pop(CACHE, None)
    epochs.forget(user)


def _cached(user, key, compute):
    """`compute()` once per request for `user`, and across requests while the access data is unchanged
    (crm_site.epochs, the counter "access")."""
    from crm_site import epochs

    return epochs.cached(user, EPOCH, _cache(user), key, compute)


def watched_tables():
    """The tables what is resolved here rests on (crm_site.epochs counts their writes)."""
    from django.contrib.auth import get_user_model

    from crm_site.registry import registry

    from .grants import grant_models_for
    from .models import Department, FieldRule, Membership, Role, RoleAssignment

    models = [Department, Membership, Role, RoleAssignment, FieldRule, get_user_model().groups.through]
    for entity in registry:
        models += [grant for grant in grant_models_for(entity.model) if grant is not None]
    return [model._meta.db_table for model in models]


# ---------------------------------------------------------------------------
# Departments


def member_department_ids(user):
    from access.models import Membership

    return _cached(user, "member", lambda: frozenset(
        Membership.objects.filter(user=user).values_list("department_id", flat=True)))


def user_department_ids(user):
    """Departments the user is a member or the head of."""
    from access.models import Department

    return _cached(user, "departments", lambda: member_department_ids(user) | frozenset(
        Department.objects.filter(head=user).values_list("pk", flat=True)))


def subtree_ids(department_ids, parents=None):
    """`department_ids` and every department below them (the whole tree is read in one query)."""
    from access.models import Department

    if parents is None:
        parents = dict(Department.objects.values_list("pk", "parent_id"))
    children = {}
    for pk, parent in parents.items():
        children.setdefault(parent, []).append(pk)
    found, frontier = set(department_ids), list(department_ids)
    while frontier:
        frontier = [child for pk in frontier for child in children.get(pk, ()) if child not in found]
        found.update(frontier)
    return found


def user_subtree_ids(user):
    return _cached(user, "subtree", lambda: frozenset(subtree_ids(user_department_ids(user))))


# ---------------------------------------------------------------------------
# Roles and levels


def user_roles(user):
    """The roles of `user`: assigned directly or to a department they belong to; else the default roles."""
    from access.models import Role

    def compute():
        roles = list(
            Role.objects.filter(Q(assignments__user=user) | Q(assignments__department__memberships__user=user))
            .distinct()
        )
        return tuple(roles or Role.objects.filter(is_default=True))

    return _cached(user, "roles", compute)


def _entity_key(model):
    from crm_site.registry import registry

    try:
        return registry.for_model(model).key
    except KeyError:
        return model._meta.model_name


def level(user, model, action):
    """The user's `Level` for `action` on `model` (an entity model or its registry key)."""
    from access.models import Level

    if user is None or not user.is_authenticated or not user.is_active:
        return Level.NONE
    if user.is_superuser:
        return Level.ALL
    key = model if isinstance(model, str) else _entity_key(model)
    return _cached(user, ("level", key, action),
                   lambda: max((role.level(key, action) for role in user_roles(user)), default=Level.NONE))


def level_q(user, value):
    """The filter of one level, or None for NONE."""
    from access.models import Level

    if value >= Level.ALL:
        return Q()
    if value <= Level.NONE:
        return None
    q = Q(owner_id=user.pk)
    if value >= Level.DEPARTMENT:
        departments = user_subtree_ids(user) if value >= Level.SUBDEPARTMENTS else user_department_ids(user)
        if departments:
            q |= Q(department_id__in=sorted(departments))
    if value >= Level.ALL_OPEN:
        q |= Q(opened=True)
    return q


# ---------------------------------------------------------------------------
# Grants (sharing one record with one colleague)


def grant_codenames(model, action):
    name = model._meta.model_name
    return [f"change_{name}"] if action == EDIT else [f"view_{name}", f"change_{name}"]


def grant_q(user, model, action):
    """`pk IN (records shared with the user for action)`, or None when nothing is shared with them."""
    from .grants import grant_models_for

    if action not in (READ, EDIT):
        return None
    user_grant, group_grant = grant_models_for(model)
    if user_grant is None:
        return None
    codenames = grant_codenames(model, action)
    grants = user_grant.objects.filter(user_id=user.pk, permission__codename__in=codenames)
    group_ids = _cached(user, "granted", lambda: _granted(user))["groups"]
    group_grants = (group_grant.objects.filter(group_id__in=group_ids, permission__codename__in=codenames)
                    if group_grant is not None and group_ids else None)
    if not _has_grants(user, model, action, grants, group_grants):
        return None
    q = Q(pk__in=grants.values("content_object_id"))
    if group_grants is not None:
        q |= Q(pk__in=group_grants.values("content_object_id"))
    return q


def _has_grants(user, model, action, grants=None, group_grants=None):
    """Whether anything of `model` is shared with `user` (or their groups) for `action` (read or edit)."""
    has_any = _cached(user, "granted", lambda: _granted(user)).get((model._meta.label, action))
    if has_any is None:  # not a registered entity, or not PostgreSQL: asked on its own
        def ask():
            from .grants import grant_models_for

            user_grant, group_grant = grant_models_for(model)
            codenames = grant_codenames(model, action)
            group_ids = _cached(user, "granted", lambda: _granted(user))["groups"]
            found = grants if grants is not None else user_grant.objects.filter(
                user_id=user.pk, permission__codename__in=codenames)
            by_group = group_grants
            if by_group is None and group_grant is not None and group_ids:
                by_group = group_grant.objects.filter(group_id__in=group_ids, permission__codename__in=codenames)
            return found.exists() or bool(by_group is not None and by_group.exists())

        has_any = _cached(user, ("granted", model._meta.label, action), ask)
    return has_any


def _granted(user):
    """{"groups": the user's group ids, (entity model label, read | edit): whether anything of that entity is
    shared with the user or their groups for the action} for every registered entity, in one query: a list page
    asks for several entities (its own for read and edit, every entity for the header's task counters), and one
    round trip with a fixed SQL text costs less than a query built per entity and action. Elsewhere than
    PostgreSQL (the SQLite demo) only the groups: each entity and action is then asked on its own."""
    if connection.vendor != "postgresql":
        return {"groups": tuple(user.groups.values_list("pk", flat=True))}
    sql, labels = _granted_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, {"user": user.pk})
        row = cursor.fetchone()
    found = {"groups": tuple(row[0] or ())}
    found.update(zip(labels, row[1:], strict=True))
    return found


def _granted_sql():
    """The SQL of `_granted` and the (model label, action) of each of its columns (built once per process: it
    depends only on the registry and the table names)."""
    global _GRANTED_SQL
    if _GRANTED_SQL is None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Permission

        from crm_site.registry import registry

        from .grants import grant_models_for

        quote = connection.ops.quote_name
        through = get_user_model().groups.through._meta
        memberships = (f"SELECT {quote(through.get_field('group').column)} FROM {quote(through.db_table)} "
                       f"WHERE {quote(through.get_field('user').column)} = %(user)s")
        permissions = quote(Permission._meta.db_table)
        columns, labels = [f"ARRAY({memberships})"], []
        for entity in registry:
            model = entity.model
            user_grant, group_grant = grant_models_for(model)
            if user_grant is None:
                continue
            for action in (READ, EDIT):
                codes = ", ".join(f"'{code}'" for code in grant_codenames(model, action))  # [a-z_] model names
                tests = []
                for grant, who, among in ((user_grant, "user", "= %(user)s"), (group_grant, "group",
                                                                              f"IN ({memberships})")):
                    if grant is None:
                        continue
                    meta = grant._meta
                    # The permissions as an array, not a join: 16 such tests are planned on every page.
                    tests.append(
                        f"EXISTS (SELECT 1 FROM {quote(meta.db_table)} g "
                        f"WHERE g.{quote(meta.get_field(who).column)} {among} "
                        f"AND g.{quote(meta.get_field('permission').column)} = ANY(ARRAY("
                        f"SELECT id FROM {permissions} WHERE codename IN ({codes}))))")
                columns.append(f"({' OR '.join(tests)})")
                labels.append((model._meta.label, action))
        _GRANTED_SQL = (f"SELECT {', '.join(columns)}", labels)
    return _GRANTED_SQL


_GRANTED_SQL = None


# ---------------------------------------------------------------------------
# The public API


def scope_q(user, model, action=READ):
    """A Q object selecting what `user` may do `action` on, or None when nothing at all."""
    from access.models import Level

    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return Q()
    value = level(user, model, action)
    if action == ADD:
        return Q() if value > Level.NONE else None
    q = level_q(user, value)
    if value < Level.ALL:
        shared = grant_q(user, model, action)
        if shared is not None:
            q = shared if q is None else q | shared
    return q


def scope_key(user, model, action=READ):
    """A hashable value equal for two (user, model, action) exactly when `scope_q` gives them the same filter
    (the same SQL): for a caller that keeps SQL built from scope_q instead of building it on every request
    (timeline.selectors.activity_counters). It holds what scope_q reads: the level, the user's id, their
    departments (or the subtree), whether anything is shared with them and their groups."""
    from access.models import Level

    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    if user.is_superuser:
        return "all"
    value = level(user, model, action)
    if action == ADD:
        return value > Level.NONE
    if value >= Level.ALL:
        return "all"
    key = [int(value), user.pk]
    if value >= Level.DEPARTMENT:
        departments = user_subtree_ids(user) if value >= Level.SUBDEPARTMENTS else user_department_ids(user)
        key.append(tuple(sorted(departments)))
    from .grants import grant_models_for

    if action in (READ, EDIT) and grant_models_for(model)[0] is not None and _has_grants(user, model, action):
        key.append(("shared", tuple(sorted(_cached(user, "granted", lambda: _granted(user))["groups"]))))
    return tuple(key)


def can(user, obj, action):
    """Whether `user` may do `action` on one record (same rules as the queryset filter)."""
    q = scope_q(user, type(obj), action)
    if q is None:
        return False
    if action == ADD:
        return True
    if obj.pk is None:
        return False
    return type(obj).objects.filter(q, pk=obj.pk).exists()


def primary_departments(user_ids):
    """{user id: primary department id or None} for many users in one query (the write services' department)."""
    from access.models import Membership

    found = {}
    for user_id, department_id in (Membership.objects.filter(user_id__in=[pk for pk in user_ids if pk])
                                   .order_by("user_id", "-is_primary", "pk").values_list("user_id", "department_id")):
        found.setdefault(user_id, department_id)
    return {pk: found.get(pk) for pk in user_ids}


def primary_department(user):
    from access.models import Membership

    if user is None:
        return None
    membership = (
        Membership.objects.filter(user=user).order_by("-is_primary", "pk").select_related("department").first()
    )
    return membership.department if membership else None
