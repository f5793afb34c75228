"""What a batch of writes checks once instead of row by row: the ids a link or user field may take (one query per
field for the whole batch), and values of unique fields already taken by an earlier row of the same batch."""

import contextvars
import json
from contextlib import contextmanager

from . import code_of, is_custom

_current = contextvars.ContextVar("customfields_batch", default=None)


class Batch:
    def __init__(self):
        self.allowed = {}  # {field pk: set of ids the writing user may use}
        self.unique_seen = {}  # {field code: {json of value}} written by earlier rows of this batch


def current():
    return _current.get()


def _ids(value):
    items = value if isinstance(value, (list, tuple, set)) else [value]
    out = set()
    for item in items:
        item = getattr(item, "pk", item)
        if isinstance(item, bool):
            continue
        if isinstance(item, int):
            out.add(item)
        elif isinstance(item, str) and item.strip().isdigit() and len(item.strip()) <= 18:
            out.add(int(item.strip()))
    return out


@contextmanager
def batch(entity_key, user, datas):
    """Around the rows of one write batch (`datas`: each row's data dict)."""
    from .registry import definitions

    state = Batch()
    id_fields = {field.code: field for field in definitions(entity_key) if field.type in ("link", "user")}
    if id_fields:
        wanted = {}
        for data in datas:
            for name, value in (data or {}).items():
                if name == "custom_fields" and isinstance(value, dict):
                    pairs = value.items()
                elif is_custom(name):
                    pairs = [(code_of(name), value)]
                else:
                    continue
                for code, item in pairs:
                    if code in id_fields:
                        wanted.setdefault(code, set()).update(_ids(item))
        for code, ids in wanted.items():
            field = id_fields[code]
            state.allowed[field.pk] = set(field.kind.choices_queryset(field, user).filter(pk__in=ids)
                                          .values_list("pk", flat=True)) if ids else set()
    token = _current.set(state)
    try:
        yield state
    finally:
        _current.reset(token)


def seen_before(field, value):
    """Has an earlier row of this batch written `value` into the unique field? (Records it for later rows.)"""
    state = current()
    if state is None:
        return False
    key = json.dumps(value, sort_keys=True, default=str)
    seen = state.unique_seen.setdefault(field.code, set())
    if key in seen:
        return True
    seen.add(key)
    return False
