"""The world the permission and hostile-input sweeps run in: built once per test module, inside a transaction
that is rolled back at the end (each test then runs in a savepoint of it, and each sweeping POST in one more).

Actors: one user per role in the database (all members of the department "Home"), plus a superuser. Records of
every registered entity at each level a role can reach, owned so that each level is told apart:

- own: the actor's own record;
- department: a colleague's in Home;  subdepartment: a colleague's in "Sub" (a child of Home);
- open: someone's in "Away", opened to everyone;
- shared_read / shared_edit: someone's in Away, shared with every actor for reading / editing;
- linked: someone's in Away, linked to the actor's own record (a link gives no access);
- outside: someone's in Away.

Every record's searched text is a unique marker (`MARK` + kind + entity + a serial), so a row of a record out
of scope shows up in any page as its marker; the quick search is done with a prefix of it (the page echoes the
prefix, never the whole marker). The rights each actor should have come from the role matrix in the database
(`expected()`), not from the code under test.
"""

import itertools

from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from guardian.shortcuts import assign_perm

from access.models import Level, Role, RoleAssignment
from access.scopes import EDIT, READ
from crm_site.registry import registry
from tests.factories import make_department, make_record, make_user, search_field

MARK = "Qzs"
KINDS = ("own", "department", "subdepartment", "open", "shared_read", "shared_edit", "linked", "outside")
NEEDS = {"own": Level.OWN, "department": Level.DEPARTMENT, "subdepartment": Level.SUBDEPARTMENTS,
         "open": Level.ALL_OPEN, "shared_read": Level.ALL, "shared_edit": Level.ALL, "linked": Level.ALL,
         "outside": Level.ALL}
_serial = itertools.count(1)


class Actor:
    def __init__(self, user, roles, label):
        self.user, self.roles, self.label = user, roles, label

    def level(self, entity_key, action):
        if self.user.is_superuser:
            return Level.ALL
        return max((role.level(entity_key, action) for role in self.roles), default=Level.NONE)

    def __repr__(self):
        return self.label


class Rec:
    """One sweep record: the object, its level kind, its marker and the owner's actor (for own records)."""

    def __init__(self, obj, kind, marker, actor=None):
        self.obj, self.kind, self.marker, self.actor = obj, kind, marker, actor
        self.entity = type(obj).entity()

    @property
    def search(self):
        return self.marker[:-4]  # a prefix: matches the record, never echoes its whole marker

    def __repr__(self):
        return f"{self.kind} {self.entity.key} #{self.obj.pk}"


def expected(actor, rec, action):
    """Whether `actor` may do `action` on `rec`, from the role matrix in the database."""
    if actor.user.is_superuser:
        return True
    if rec.kind == "own":  # another actor's own record is a department colleague's
        need = Level.OWN if rec.actor is actor else Level.DEPARTMENT
        return actor.level(rec.entity.key, action) >= need
    if rec.kind == "shared_read" and action == READ:
        return True
    if rec.kind == "shared_edit" and action in (READ, EDIT):
        return True
    return actor.level(rec.entity.key, action) >= NEEDS[rec.kind]


def may_share(actor, rec):
    """The owner, or a role whose edit level covers the record (a grant is not enough to pass it on)."""
    if actor.user.is_superuser or (rec.kind == "own" and rec.actor is actor):
        return True
    need = Level.DEPARTMENT if rec.kind == "own" else NEEDS[rec.kind]
    return actor.level(rec.entity.key, EDIT) >= need


def _marked(entity_key, owner, kind, channels=True, **extra):
    marker = f"{MARK}{kind.replace('_', '')}{entity_key}{next(_serial):04d}"
    fields = {search_field(entity_key): marker, **extra}
    if channels and registry[entity_key].has_channels:
        serial = next(_serial)
        fields["phones"] = [f"+7 495 7{serial:06d}"]
        fields["emails"] = [f"{marker.lower()}@sweep.example"]
    return make_record(entity_key, owner, **fields), marker


class World:
    def __init__(self):
        self.home = make_department("Home")
        self.sub = make_department("Sub", parent=self.home)
        self.away = make_department("Away")
        group = Group.objects.create(name="sweep admin rights")
        group.permissions.set(Permission.objects.filter(
            content_type__in=[ContentType.objects.get_for_model(e.model) for e in registry]))
        self.actors = []
        for role in Role.objects.order_by("name"):
            user = make_user(f"sweep-{role.pk}", department=self.home, is_staff=True)
            user.groups.add(group)
            RoleAssignment.objects.create(role=role, user=user)
            self.actors.append(Actor(user, [role], role.name))
        self.actors.append(Actor(make_user("sweep-root", superuser=True, department=self.home), [], "superuser"))
        owners = {
            "department": make_user("sweep-colleague", department=self.home),
            "subdepartment": make_user("sweep-sub", department=self.sub),
            "open": make_user("sweep-opener", department=self.away),
            "shared_read": make_user("sweep-sharer", department=self.away),
            "shared_edit": make_user("sweep-sharer2", department=self.away),
            "linked": make_user("sweep-linker", department=self.away),
            "outside": make_user("sweep-outsider", department=self.away),
        }
        self.outsider = owners["outside"]
        self.records = []  # every live sweep record
        for entity in registry:
            for actor in self.actors:
                obj, marker = _marked(entity.key, actor.user, "own", channels=False)
                self.records.append(Rec(obj, "own", marker, actor))
            for kind, owner in owners.items():
                extra = {"opened": True} if kind == "open" else {}
                obj, marker = _marked(entity.key, owner, kind, **extra)
                self.records.append(Rec(obj, kind, marker))
                if kind.startswith("shared_"):
                    prefix = "change" if kind == "shared_edit" else "view"
                    for actor in self.actors:
                        assign_perm(f"{entity.model._meta.app_label}.{prefix}_{entity.model._meta.model_name}",
                                    actor.user, obj)
        for entity in registry:  # "linked": each linked record linked to every actor's own record
            for relation in entity.relations:
                target_key = relation.target_model.entity().key
                for rec in self.of(entity.key, "own"):
                    target = self.one(target_key, "linked")
                    relation.through_model.objects.get_or_create(
                        **{relation.from_field: rec.obj, relation.to_field: target.obj})
        self._binned()
        self._timeline()
        self._dedup()

    # -- look-ups
    def of(self, entity_key, kind, actor=None):
        return [r for r in self.records if r.entity.key == entity_key and r.kind == kind
                and (actor is None or r.actor is actor)]

    def one(self, entity_key, kind, actor=None):
        return self.of(entity_key, kind, actor)[0]

    def entities_for(self, actor, count=2):
        """`count` entities for `actor`, in turn: across the actors every entity is swept by several roles."""
        entities = list(registry)
        start = self.actors.index(actor)
        return [entities[(start + n) % len(entities)] for n in range(min(count, len(entities)))]

    def for_actor(self, actor, entity_key=None):
        """The records that concern `actor`: its own and every other kind (not other actors' own ones)."""
        return [r for r in self.records if (entity_key is None or r.entity.key == entity_key)
                and (r.kind != "own" or r.actor is actor)]

    # -- what else the sweep needs
    def _binned(self):
        """Records in the bin: a colleague's, an outsider's and each actor's own (binned directly: set-up)."""
        from django.utils import timezone

        root = self.actors[-1].user
        self.binned = []
        for entity in registry:
            for kind in ("department", "outside"):
                owner = self.one(entity.key, kind).obj.owner
                obj, marker = _marked(entity.key, owner, kind, channels=False)
                self.binned.append(Rec(obj, kind, marker))
            for actor in self.actors:
                obj, marker = _marked(entity.key, actor.user, "own", channels=False)
                self.binned.append(Rec(obj, "own", marker, actor))
            entity.model.all_objects.filter(pk__in=[r.obj.pk for r in self.binned if r.entity is entity]).update(
                deleted_at=timezone.now(), deleted_by=root)
        for rec in self.binned:
            rec.obj.refresh_from_db()

    def _timeline(self):
        from timeline.models import Entry, EntryLink, Kind

        self.entries = []
        for rec in self.records:
            if rec.kind not in ("own", "department", "outside"):
                continue
            owner = rec.obj.owner
            entry = Entry.objects.create(kind=Kind.TASK, author=owner, responsible=owner, state="planned",
                                         subject=f"{rec.marker}task")
            EntryLink.objects.create(entry=entry, content_type=ContentType.objects.get_for_model(rec.obj),
                                     object_id=rec.obj.pk)
            self.entries.append((entry, rec))

    def _dedup(self):
        from dedup.models import DuplicateGroup, ScanRun
        from dedup.services import records_merge

        root = self.actors[-1].user
        self.merges, self.groups = [], []
        for number, entity in enumerate(registry):
            scan = ScanRun.objects.create(entity=entity.key, started_by=root)
            for kind in ("department", "outside") if number < 2 else ():  # merges of two entities
                rec = self.one(entity.key, kind)
                twin, _marker = _marked(entity.key, rec.obj.owner, kind, channels=False)
                self.merges.append((records_merge(user=root, survivor=rec.obj, others=[twin]), rec))
                rec.obj.refresh_from_db()
                twin.refresh_from_db()
                self.binned.append(Rec(twin, kind, _marker))
            for first, second in (("department", "subdepartment"), ("department", "outside")):
                a, b = self.one(entity.key, first), self.one(entity.key, second)
                group = DuplicateGroup.objects.create(scan=scan, entity=entity.key, score=99,
                                                      object_ids=sorted([a.obj.pk, b.obj.pk]))
                self.groups.append((group, a, b))
        self.scans = list(ScanRun.objects.all())


# ---------------------------------------------------------------------------
# The database's state, in one query: a refused request must leave it exactly as it was.

_SKIP_APPS = {"sessions", "access_sessions", "contenttypes", "axes", "otp_totp", "otp_static", "two_factor", "django_otp"}
_SKIP_MODELS = {"access.AuditLog"}
_state_sql = None


def _tables():
    from django.apps import apps

    return sorted({m._meta.db_table for m in apps.get_models(include_auto_created=True)
                   if m._meta.app_label not in _SKIP_APPS and m._meta.label not in _SKIP_MODELS
                   and m._meta.managed and not m._meta.proxy})


# Tables whose rows a refused request could change without adding a row anywhere else (no history row): their
# whole content is compared. Every other table is compared by its row count and largest id: a change to an
# audited row always adds a history row.
_UPDATED_IN_PLACE = ("dedup_duplicategroup", "dedup_mergerecord", "dedup_notduplicate", "timeline_entry",
                     "timeline_notification", "dedup_scanrun", "auth_user", "guardian_userobjectpermission")


def state():
    """A digest of every table the project writes (records, history, links, grants, timeline, merges, admin
    log...), computed by the database in one query."""
    global _state_sql
    if _state_sql is None:
        qn = connection.ops.quote_name
        records = {e.model._meta.db_table for e in registry}  # the records themselves: compared in full too
        parts = []
        for table in _tables():
            if connection.vendor == "postgresql" and (table in _UPDATED_IN_PLACE or table in records):
                parts.append(f"(SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {qn(table)} t)")
            else:
                parts.append(f"(SELECT count(*) FROM {qn(table)})")
        _state_sql = "SELECT " + ", ".join(parts)
    with connection.cursor() as cursor:
        cursor.execute(_state_sql)
        return cursor.fetchone()


def changed_tables(before, after):
    return [t for t, b, a in zip(_tables(), before, after, strict=True) if b != a]


class rolled_back:
    """`with rolled_back() as check:` runs a request in a savepoint that is always rolled back; `check.changed`
    lists the tables the request wrote."""

    def __enter__(self):
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        self.before = state()
        return self

    def done(self):
        self.changed = changed_tables(self.before, state())
        return self.changed

    def __exit__(self, *exc):
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)
        return False


# ---------------------------------------------------------------------------
# The project's url patterns


SKIP_PREFIXES = ("admin/", "static/", "media/", "jsi18n/")


def walk(patterns, prefix=""):
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def project_patterns():
    return [(route, p) for route, p in walk(get_resolver().url_patterns)
            if not route.lstrip("^").startswith(SKIP_PREFIXES)]  # "^media/…" is served in DEBUG only


def body(response):
    content = b"".join(response.streaming_content) if response.streaming else response.content
    return content.decode("utf-8-sig", errors="replace")
