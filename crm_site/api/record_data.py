"""What the records of one page need beyond their rows, read in ONE query for the whole page (`RecordData`).

Versions, phones/emails, links (only to records the user may read), many-to-many ids and whether each linked
record may be opened are correlated subqueries over the page's ids (`unnest(ids)`), each an index lookup, and
the whole page comes back as one JSON document. One round trip instead of one per kind matters on a busy
database: a list page's time is mostly waiting for PostgreSQL, not computing."""

import json
from functools import cache

from django.contrib.contenttypes.models import ContentType
from django.db import connection

from access.fields import hidden_fields
from access.scopes import READ
from crm_site import history, record_input
from crm_site.display import entity_foreign_keys
from crm_site.models import Communication

# Link fields whose JSON value is already what the serializer shows (others go through field.to_python).
_JSON_NATIVE = {"CharField", "TextField", "BooleanField", "IntegerField", "BigIntegerField", "PositiveIntegerField",
                "PositiveBigIntegerField", "PositiveSmallIntegerField", "SmallIntegerField", "SlugField",
                "EmailField", "URLField"}


def _q(name):
    return connection.ops.quote_name(name)


def _array_literal(values):
    """'{1,2,NULL}': adapting a Python list element by element costs more than the query itself."""
    return "{" + ",".join("NULL" if value is None else str(int(value)) for value in values) + "}"


def _visible_sql(model, user):
    """SQL and params selecting the ids of `model` the user may read; None when nothing."""
    queryset = model.objects.visible_to(user, READ)
    if queryset.query.is_empty():
        return None, ()
    return queryset.order_by().values("pk").query.sql_with_params()


# -- the fixed SQL of each kind of data, built once per model (the user's part, visibility, is added per page)

@cache
def _version_sql(model):
    table = history.history_model(model)
    if table is None:
        return None
    return (f"(SELECT max(h.{_q(table._meta.pk.column)}) FROM {_q(table._meta.db_table)} h "
            f"WHERE h.{_q(table._meta.get_field('id').column)} = p.id)")


@cache
def _channel_sql():
    meta = Communication._meta
    c = {name: f"c.{_q(meta.get_field(name).column)}" for name in
         ("channel", "id", "value", "kind", "is_primary", "position", "content_type", "object_id")}
    return (f"(SELECT json_agg(json_build_array({c['channel']}, {c['id']}, {c['value']}, {c['kind']}, "
            f"{c['is_primary']}) ORDER BY {c['channel']}, {c['is_primary']} DESC, {c['position']}, {c['id']}) "
            f"FROM {_q(meta.db_table)} c WHERE {c['content_type']} = %s AND {c['object_id']} = p.id)")


@cache
def _link_sql(relation):
    """The links' SQL with a {visible} slot, and (name, converter or None) of each extra field."""
    meta = relation.through_model._meta
    extra = [meta.get_field(name) for name in relation.extra_fields]
    source, target = _q(meta.get_field(relation.from_field).column), _q(meta.get_field(relation.to_field).column)
    pk = _q(meta.pk.column)
    values = ", ".join([f"l.{pk}", f"l.{target}", *[f"l.{_q(field.column)}" for field in extra]])
    sql = (f"(SELECT json_agg(json_build_array({values}) ORDER BY l.{pk}) FROM {_q(meta.db_table)} l "
           f"WHERE l.{source} = p.id AND l.{target} IN ({{visible}}))")
    return sql, tuple((field.name, None if field.get_internal_type() in _JSON_NATIVE else field.to_python)
                      for field in extra)


@cache
def _m2m_sql(field):
    meta = field.remote_field.through._meta
    source = _q(meta.get_field(field.m2m_field_name()).column)
    target = _q(meta.get_field(field.m2m_reverse_field_name()).column)
    return (f"(SELECT json_agg(t.{target} ORDER BY t.{_q(meta.pk.column)}) FROM {_q(meta.db_table)} t "
            f"WHERE t.{source} = p.id)")


@cache
def _foreign_keys(model):
    return tuple(entity_foreign_keys(model, [f.name for f in model._meta.concrete_fields if f.many_to_one]))


@cache
def _m2m_fields(model):
    return tuple((name, field) for name, field in record_input.writable_fields(model).items() if field.many_to_many)


class RecordData:
    """Per page: `versions` {pk: version}, `channels` {pk: {channel: [item]}}, `links` {pk: {relation: [link]}},
    `m2m` {field: {pk: [ids]}}, `reachable` {(fk name, target pk)} of linked records the user may open."""

    def __init__(self, user, entity, objs, *, hidden=None):
        self.user, self.entity = user, entity
        objs = list(objs)
        model = entity.model
        self.hidden = hidden_fields(user, entity.key) if hidden is None else hidden
        pks = [obj.pk for obj in objs]
        self.versions = {pk: 0 for pk in pks}
        self.channels, self.links, self.m2m, self.reachable = {}, {}, {}, set()
        foreign = _foreign_keys(model)
        self.entity_fks = {field.name for field in foreign}
        if not pks:
            return
        # Each kind adds a column (its SQL and params) and a reader of its value.
        columns, params, readers = [], [], []
        version = _version_sql(model)
        if version:
            columns.append(version)
            readers.append(self._read_version)
        if entity.has_channels:
            columns.append(_channel_sql())
            params.append(ContentType.objects.get_for_model(model).pk)
            readers.append(self._read_channels)
        for relation in entity.relations:
            if relation.name in self.hidden:
                continue
            visible, visible_params = _visible_sql(relation.target_model, user)
            if visible is None:
                continue  # no linked record may be read: none is shown
            sql, converters = _link_sql(relation)
            columns.append(sql.replace("{visible}", visible))
            params.extend(visible_params)
            readers.append(self._links_reader(relation.name, converters))
        for name, field in _m2m_fields(model):
            if name not in self.hidden:
                columns.append(_m2m_sql(field))
                readers.append(self._m2m_reader(name))
        arrays = [pks]  # unnest(ids, fk values...) zips them: p.id, p.fk0, p.fk1...
        for field in foreign:
            values = [getattr(obj, field.attname) for obj in objs]
            if all(value is None for value in values):
                continue
            visible, visible_params = _visible_sql(field.related_model, user)
            if visible is None:
                continue
            alias = f"fk{len(arrays) - 1}"
            columns.append(f"(p.{alias} IS NOT NULL AND EXISTS(SELECT 1 FROM ({visible}) v(id) WHERE v.id = p.{alias}))")
            params.extend(visible_params)
            readers.append(self._reachable_reader(field.name, dict(zip(pks, values, strict=True))))
            arrays.append(values)
        if not columns:
            return
        names = ", ".join(["id", *[f"fk{i}" for i in range(len(arrays) - 1)]])
        sql = (f"SELECT json_agg(json_build_array(p.id, {', '.join(columns)}))::text "
               f"FROM unnest({', '.join(['%s::bigint[]'] * len(arrays))}) AS p({names})")
        with connection.cursor() as cursor:
            cursor.execute(sql, [*params, *map(_array_literal, arrays)])  # the id arrays come last in the text
            (document,) = cursor.fetchone()
        for pk, *values in json.loads(document or "[]"):
            for reader, value in zip(readers, values, strict=True):
                if value:
                    reader(pk, value)

    def _read_version(self, pk, value):
        self.versions[pk] = value

    def _read_channels(self, pk, value):
        mine = self.channels[pk] = {}
        for channel, item_pk, text, kind, is_primary in value:
            mine.setdefault(channel, []).append({"id": item_pk, "value": text, "kind": kind, "is_primary": is_primary})

    def _links_reader(self, name, converters):
        def read(pk, value):
            mine = self.links.setdefault(pk, {}).setdefault(name, [])
            for link_pk, target_pk, *rest in value:
                item = {"id": link_pk, "target": target_pk}
                for (field_name, convert), raw in zip(converters, rest, strict=True):
                    item[field_name] = convert(raw) if convert is not None and raw is not None else raw
                mine.append(item)

        return read

    def _m2m_reader(self, name):
        def read(pk, value):
            self.m2m.setdefault(name, {})[pk] = value

        return read

    def _reachable_reader(self, name, targets):
        def read(pk, value):
            self.reachable.add((name, targets[pk]))

        return read
