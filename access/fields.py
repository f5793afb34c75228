"""Field rules: which fields a user may not see (hidden) or not change (read-only) on an entity.

- FieldRule rows per role; with several roles the most permissive wins (hidden only when every role hides it,
  read-only only when every role restricts it).
- Protected fields: owner and opened (the department follows the owner) are read-only for a user whose EDIT
  level on the entity is below "own + department" (sales managers, the default Employee role): only department
  heads (Head of sales) and administrators reassign records or open them to everyone.
- Names are strings as screens use them: model fields, channels ("phone", "email", "messenger", "web") and,
  later, custom field keys (`Entity.rule_fields()` lists what a rule can name).
"""

from .models import FieldRule, Level
from .scopes import EDIT, _cached, level, user_roles

PROTECTED_FIELDS = ("owner", "opened")
_RANK = {None: 0, FieldRule.READ_ONLY: 1, FieldRule.HIDDEN: 2}


def field_modes(user, entity_key):
    """{field name: "hidden" | "read_only"} for `user` on the entity `entity_key`."""
    if user is None or not user.is_authenticated:
        return {}
    if user.is_superuser:
        return {}

    def compute():
        roles = user_roles(user)
        rules = {}
        for rule in FieldRule.objects.filter(role__in=[r.pk for r in roles], entity=entity_key):
            rules.setdefault(rule.field, {})[rule.role_id] = rule.mode
        modes = {}
        for name, by_role in rules.items():
            rank = min(_RANK[by_role.get(role.pk)] for role in roles)
            if rank:
                modes[name] = FieldRule.HIDDEN if rank == 2 else FieldRule.READ_ONLY
        if level(user, entity_key, EDIT) < Level.DEPARTMENT:
            for name in PROTECTED_FIELDS:
                modes.setdefault(name, FieldRule.READ_ONLY)
        return modes

    return _cached(user, ("fields", entity_key), compute)


def hidden_fields(user, entity_key):
    return {name for name, mode in field_modes(user, entity_key).items() if mode == FieldRule.HIDDEN}


def read_only_fields(user, entity_key):
    return {name for name, mode in field_modes(user, entity_key).items() if mode == FieldRule.READ_ONLY}
