"""Audit history in sets: rows for many records at once (creates, changes and deletions), a record's version,
and how a change reads to people. The write services use these so that no write goes unrecorded."""

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

    simple-history's own bulk_history_create knows only "+" and "~"; a deletion needs its "-" row too."""
    history = history_model(model)
    if history is None or not objs:
        return []
    when = when or timezone.now()
    if kind in ("+", "~"):
        return model.history.bulk_history_create(list(objs), update=kind == "~", default_user=user,
                                                 default_change_reason=reason or None, default_date=when)
    rows = []
    for obj in objs:
        values = {field.attname: getattr(obj, field.attname) for field in history.tracked_fields}
        rows.append(history(history_date=when, history_type="-", history_user=user,
                            history_change_reason=reason or None, **values))
    return history.objects.bulk_create(rows, batch_size=1000)


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
    rows = history.objects.filter(id__in=list(pks)).values("id").annotate(latest=Max("history_id"))
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
