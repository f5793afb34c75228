"""Reads of the timeline. Visibility is always SQL: an entry is visible iff one of its linked records is.

`visible_entries(user)` is one `Exists` over the entry's links; each link is checked against its own record through
the entity's `visible_to(user, "read")` (which hides records in the bin) by primary key, so no Python loop over
rows and no list of every visible record.
"""

from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Prefetch, Q
from django.utils import timezone

from access.scopes import READ
from crm_site.registry import registry

from . import link_copies
from .models import Entry, EntryLink, Kind, Notification, TaskState


def content_type_of(model):
    return ContentType.objects.get_for_model(model)  # cached by Django after the first call


def _links_to(content_type, object_ids):
    return EntryLink.objects.filter(entry=OuterRef("pk"), content_type=content_type, object_id__in=object_ids)


def visible_link_filter(user):
    """A Q on EntryLink: the link points at a record `user` may read (None when they may read no entity).

    On PostgreSQL the read scope is checked on the link's copies of its record (timeline.link_copies): owner,
    department, "open", not in the bin, and records shared with the user by id. Elsewhere, per entity type,
    `content_type = X AND EXISTS (that record, restricted by visible_to())`, the record looked up by its primary
    key from the link. Either way no query collects every visible record's id."""
    copies = link_copies.enabled()
    branches = []
    for entity in registry:
        content_type = content_type_of(entity.model)
        if copies:
            branch = link_copies.entity_link_q(user, entity.model, content_type.pk)
            if branch is None:
                continue
            if branch is not NotImplemented:
                branches.append(branch)
                continue
        records = entity.model.objects.visible_to(user, READ)
        if records.query.is_empty():
            continue
        record = records.filter(pk=OuterRef("object_id")).order_by().values("pk")
        branches.append(Q(content_type=content_type) & Q(Exists(record)))
    if not branches:
        return None
    condition = branches[0]
    for branch in branches[1:]:
        condition |= branch
    return Q(record_live=True) & condition if copies else condition


def visible_filter(user):
    """A Q selecting the entries `user` may read (False for an anonymous or inactive user): one EXISTS on the
    entry's links (by the entry's id, an index), each link checked against its record's visible_to()."""
    links = visible_link_filter(user)
    if links is None:
        return Q(pk__in=[])
    return Q(Exists(EntryLink.objects.filter(links, entry=OuterRef("pk")).order_by()))


def visible_entries(user):
    return Entry.objects.filter(visible_filter(user))


def with_display(queryset):
    """What the timeline panel shows for an entry, fetched in a constant number of queries."""
    return queryset.select_related("author", "responsible").prefetch_related(
        Prefetch("links", queryset=EntryLink.objects.select_related("content_type"))
    )


def related_records(obj):
    """Records an entry about `obj` also belongs to: its registered FK targets and its relations' targets.

    A call on a deal links to the deal's company and contacts; a note on a contact to its companies.
    """
    found = []
    for field in type(obj)._meta.concrete_fields:
        if field.is_relation and field.many_to_one and _registered(field.related_model):
            target_id = getattr(obj, field.attname)
            if target_id is not None:
                target = field.related_model.objects.filter(pk=target_id).first()  # live records only
                if target is not None:
                    found.append(target)
    entity = type(obj).entity()
    for relation in entity.relations:
        target_model = relation.target_model
        if not _registered(target_model):
            continue
        ids = relation.through_model.objects.filter(**{relation.from_field: obj}).values(relation.to_field)
        found.extend(target_model.objects.filter(pk__in=ids))
    return found


def _registered(model):
    try:
        registry.for_model(model)
    except KeyError:
        return False
    return True


def _record_ids_condition(user, obj, include_related):
    """Q on entries linked to `obj` (and, when asked, to the visible records around it)."""
    condition = Q(Exists(_links_to(content_type_of(type(obj)), [obj.pk])))
    if not include_related:
        return condition
    entity = type(obj).entity()
    for relation in entity.relations:
        target = relation.target_model
        if _registered(target):
            ids = relation.through_model.objects.filter(**{relation.from_field: obj}).values(relation.to_field)
            visible = target.objects.visible_to(user, READ).filter(pk__in=ids).values("pk")
            condition |= Q(Exists(_links_to(content_type_of(target), visible)))
    for _title, accessor, key in entity.related_lists:
        model = registry[key].model
        visible = model.objects.visible_to(user, READ).filter(**{accessor: obj}).values("pk")
        condition |= Q(Exists(_links_to(content_type_of(model), visible)))
    return condition


def has_related(entity):
    return bool(entity.relations or entity.related_lists)


def entries_for_record(user, obj, kinds=None, include_related=False):
    """Entries on `obj`'s card, newest first. The caller has checked that `user` may read `obj`.

    With `include_related`, entries of the records around it are added, but only those `user` may read.
    """
    queryset = Entry.objects.filter(_record_ids_condition(user, obj, include_related))
    if include_related:
        queryset = queryset.filter(visible_filter(user))
    if kinds:
        queryset = queryset.filter(kind__in=kinds)
    return queryset.order_by("-created_at", "-pk")


def planned_tasks(queryset):
    return queryset.filter(kind=Kind.TASK, state=TaskState.PLANNED).order_by("deadline", "pk")


def activities_for_user(user):
    """The user's planned tasks across all the records they may read, soonest deadline first."""
    return with_display(planned_tasks(visible_entries(user).filter(responsible=user)))


_VISIBLE_SQL = {}  # scope keys -> the compiled visible_filter() of Entry (activity_counters)
_VISIBLE_SQL_MAX = 2048


def visible_filter_sql(user):
    """`visible_filter(user)` as a boolean RawSQL on Entry, built and compiled once per scope: the header's
    counters run on every page, and building the nested EXISTS per entity in the ORM cost more than the query.
    The SQL is kept under `access.scopes.scope_key` of every entity (level, user, departments, grants) and its
    content type, so any change to what scope_q would give builds it again."""
    from django.db import connection
    from django.db.models import BooleanField
    from django.db.models.expressions import RawSQL

    from access.scopes import scope_key

    key = (connection.alias, user.pk, tuple((content_type_of(entity.model).pk, scope_key(user, entity.model, READ))
                                            for entity in registry))
    found = _VISIBLE_SQL.get(key)
    if found is None:
        from django.core.exceptions import EmptyResultSet

        query = Entry.objects.filter(visible_filter(user)).query
        try:
            sql, params = query.where.as_sql(query.get_compiler(connection=connection), connection)
        except EmptyResultSet:  # the user may read no entity at all: no entry is theirs to count
            sql, params = "1 = 0", ()
        found = (sql, tuple(params))
        if len(_VISIBLE_SQL) >= _VISIBLE_SQL_MAX:
            _VISIBLE_SQL.clear()
        _VISIBLE_SQL[key] = found
    return RawSQL(found[0], found[1], output_field=BooleanField())


def activity_counters(user):
    """Planned tasks due today and overdue (header_counts' statement)."""
    counts = header_counts(user)
    return {"today": counts["today"], "overdue": counts["overdue"]}


def header_counts(user):
    """{"today", "overdue", "unread"}: the user's planned tasks due today and overdue, among the entries they may
    read, and their unread notifications, in one statement — the header shows them on every page, and the ORM's
    aggregates cost more to build than to run. Only tasks due by the end of today are read: the bound keeps the
    visibility check (visible_filter_sql's, compiled once per scope) off later tasks."""
    from django.db import connection

    now = timezone.now()
    end_of_today = timezone.localtime(now).replace(hour=23, minute=59, second=59, microsecond=999999)
    visible = visible_filter_sql(user)
    quote = connection.ops.quote_name
    entry, note = Entry._meta, Notification._meta

    def column(meta, name):
        return quote(meta.get_field(name).column)

    deadline = column(entry, "deadline")
    sql = (
        f"SELECT COALESCE(SUM(CASE WHEN {deadline} >= %s THEN 1 ELSE 0 END), 0), "
        f"COALESCE(SUM(CASE WHEN {deadline} < %s THEN 1 ELSE 0 END), 0), "
        f"(SELECT COUNT(*) FROM {quote(note.db_table)} WHERE {column(note, 'user')} = %s "
        f"AND {column(note, 'read_at')} IS NULL) "
        f"FROM {quote(entry.db_table)} WHERE {column(entry, 'kind')} = %s AND {column(entry, 'state')} = %s "
        f"AND {column(entry, 'responsible')} = %s AND {deadline} <= %s AND ({visible.sql})"
    )
    at = connection.ops.adapt_datetimefield_value
    params = [at(now), at(now), user.pk, Kind.TASK.value, TaskState.PLANNED.value, user.pk, at(end_of_today),
              *visible.params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        today, overdue, unread = cursor.fetchone()
    return {"today": today, "overdue": overdue, "unread": unread}


def unread_notifications(user):
    return Notification.objects.filter(user=user, read_at__isnull=True)


def linked_records(entry, user=None):
    """The live records an entry is linked to (visible to `user` when given), for links on its card."""
    by_type = {}
    for link in entry.links.all():
        by_type.setdefault(link.content_type, []).append(link.object_id)
    records = []
    for content_type, ids in by_type.items():
        model = content_type.model_class()
        if model is None or not _registered(model):
            continue
        queryset = model.objects.filter(pk__in=ids)
        if user is not None:
            queryset = queryset.visible_to(user, READ)
        records.extend(queryset)
    return records
