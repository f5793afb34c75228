"""Audit history in sets: rows for many records at once (creates, changes and deletions), a record's version,
and how a change reads to people. The write services use these so that no write goes unrecorded."""

from django.conf import settings
from django.db import connection
from django.db.models import Max
from django.utils import timezone
from simple_history.exceptions import NotHistoricalModelError
from simple_history.utils import get_history_model_for_model


def history_model(model):
    try:
        return get_history_model_for_model(model)
    except NotHistoricalModelError:
        return None


def write_history(model, objs, *, kind, user, reason="", when=None):
    """One history row per record of `objs` ("+" created, "~" changed, "-" deleted), in one INSERT per batch.

    Call it after the rows are written ("+", "~") or before they are deleted ("-"). On PostgreSQL the rows are
    copied by INSERT ... SELECT from the table itself: no history instance is built and no value passes
    through Python, so the history is exactly what the table holds."""
    history = history_model(model)
    if history is None or not objs or not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
        return
    when = when or timezone.now()
    user_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
    if connection.vendor == "postgresql" and not hasattr(history, "history_relation"):
        _copy_history(model, history, [obj.pk for obj in objs], kind=kind, user_id=user_id, reason=reason or None,
                      when=when)
        return
    rows = []
    for obj in objs:
        values = {field.attname: getattr(obj, field.attname) for field in history.tracked_fields}
        rows.append(history(history_date=when, history_type=kind, history_user_id=user_id,
                            history_change_reason=reason or None, **values))
    history.objects.bulk_create(rows, batch_size=1000)


def _copy_history(model, history, pks, *, kind, user_id, reason, when):
    quote = connection.ops.quote_name
    columns = [field.column for field in history.tracked_fields]
    source = ", ".join(f"t.{quote(column)}" for column in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(history._meta.db_table)} ({', '.join(quote(c) for c in columns)}, history_date, "
            f"history_type, history_user_id, history_change_reason) "
            f"SELECT {source}, %s, %s, %s, %s FROM {quote(model._meta.db_table)} t "
            f"JOIN unnest(%s::bigint[]) WITH ORDINALITY AS u(id, n) ON t.{quote(model._meta.pk.column)} = u.id "
            f"ORDER BY u.n",
            [when, kind, user_id, reason, list(pks)])


def delete_rows(model, pks):
    """DELETE rows by id without Django's collector: no per-row post_delete signals (simple-history would write
    a second "-" row for each; write_history wrote them already, in one INSERT)."""
    from django.db import DEFAULT_DB_ALIAS
    from django.db.models.sql import DeleteQuery

    if pks:
        DeleteQuery(model).delete_batch(list(pks), DEFAULT_DB_ALIAS)


def versions(model, pks):
    """{pk: version} of records: the id of each one's latest history row (0 for none).

    Every write leaves a history row, so the number changes with every write and never comes back; an edit
    form and the API carry it to refuse saving over someone else's newer change."""
    history = history_model(model)
    if history is None or not pks:
        return {pk: 0 for pk in pks}
    rows = history.objects.filter(id__any=list(pks)).values("id").annotate(latest=Max("history_id"))
    found = {row["id"]: row["latest"] for row in rows}
    return {pk: found.get(pk, 0) for pk in pks}


def version(obj):
    return versions(type(obj), [obj.pk])[obj.pk] if obj.pk else 0


def changed_since(obj, version_seen):
    """Labels of the fields changed on `obj` after the history row `version_seen` (what someone else saved)."""
    from .display import field_label

    history = history_model(type(obj))
    seen = history.objects.filter(history_id=version_seen, id=obj.pk).first() if version_seen else None
    latest = history.objects.filter(id=obj.pk).order_by("-history_id").first()
    if seen is None or latest is None:
        return []
    hidden = {"updated_at", "updated_by", "version"}
    return [field_label(type(obj), change.field) for change in latest.diff_against(seen).changes
            if change.field not in hidden]
