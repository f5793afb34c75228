"""Cell text -> primary key for foreign keys to small lists (source, type, industry, currency, lead status,
pipeline, stage...) and to users (the responsible one).

Each list is read once per import into a dict: an entry is found by its code or its name in any of the three
languages (currencies also by symbol), case and "ё" ignored. A list item whose name repeats within a scope is
ambiguous. A list scoped by another field of the same record (a deal's stage belongs to the deal's pipeline) is
looked up within that field's value, or the scope's default (`is_default`) when the row has none.
"""

from django.contrib.auth import get_user_model
from django.db.models import Q

from .values import BadValue

AMBIGUOUS = object()
CURRENCY_ALIASES = {"руб": "rub", "р": "rub", "rur": "rub", "рубль": "rub", "рублей": "rub", "грн": "uah",
                    "гривна": "uah", "гривня": "uah", "долл": "usd", "доллар": "usd", "долар": "usd", "евро": "eur",
                    "євро": "eur", "тенге": "kzt", "тг": "kzt"}
ANY_SCOPE = object()  # key of an entry found whatever its scope


def _key(text):
    return " ".join(str(text).casefold().replace("ё", "е").split()).rstrip(".")


def _add(index, key, pk):
    if not key:
        return
    existing = index.get(key)
    if existing is None:
        index[key] = pk
    elif existing != pk:
        index[key] = AMBIGUOUS


class ListLookup:
    """One foreign key's targets. `scope_field`: the entity's field whose value narrows the list (the deal's
    pipeline for its stage), found from the models alone."""

    def __init__(self, field, entity_model):
        self.field = field
        self.model = field.related_model
        self.scope_field = None  # on the entity
        self.scope_attname = None  # on the list model
        for related_field in self.model._meta.get_fields():
            if (related_field.many_to_one and related_field.concrete
                    and related_field.related_model is not get_user_model()):
                for entity_field in entity_model._meta.get_fields():
                    if (entity_field.many_to_one and entity_field.concrete and entity_field is not field
                            and entity_field.related_model is related_field.related_model):
                        self.scope_field, self.scope_attname = entity_field.name, related_field.attname
        self._index = None
        self._default_scope = None

    def _build(self):
        index = {}
        names = {f.attname for f in self.model._meta.concrete_fields}
        text_fields = [name for name in ("code", "name", "name_en", "name_ru", "name_uk", "symbol", "title")
                       if name in names]
        columns = ["pk", *text_fields, *([self.scope_attname] if self.scope_attname else [])]
        for row in self.model._default_manager.values(*columns):
            scope = row.get(self.scope_attname) if self.scope_attname else None
            keys = {_key(row[name]) for name in text_fields if row[name]} | {str(row["pk"])}
            if "symbol" in text_fields:  # a currency: the words files write instead of its code
                keys |= {alias for alias, code in CURRENCY_ALIASES.items() if code == _key(row.get("code") or "")}
            for key in keys:
                _add(index, (scope, key), (row["pk"], scope))
                if scope is not None:
                    _add(index, (ANY_SCOPE, key), (row["pk"], scope))
        self._index = index
        if self.scope_attname:
            scope_model = self.model._meta.get_field(self.scope_attname.removesuffix("_id")).related_model
            if any(f.name == "is_default" for f in scope_model._meta.get_fields()):
                self._default_scope = scope_model._default_manager.filter(is_default=True).values_list(
                    "pk", flat=True).first()

    def resolve(self, text, scope=None):
        """(primary key, its scope) for `text`; `scope`: the row's value of `scope_field` (None when it has
        none: then the default scope's entry, or the only entry of that name in any scope)."""
        if self._index is None:
            self._build()
        key = _key(text)
        if not self.scope_attname:
            found = self._index.get((None, key))
        elif scope is not None:
            found = self._index.get((scope, key))  # never a stage of another pipeline than the row's
        else:
            found = self._index.get((self._default_scope, key)) if self._default_scope else None
            if found is None:
                found = self._index.get((ANY_SCOPE, key))
        if found is None:
            raise BadValue("unknown_value", value=str(text)[:100], field=str(self.field.verbose_name))
        if found is AMBIGUOUS:
            raise BadValue("ambiguous_value", value=str(text)[:100], field=str(self.field.verbose_name))
        return found


class UserLookup:
    """The responsible user, by login, email, "First Last" or "Last First"; active users only."""

    def __init__(self):
        self._index = None

    def _build(self):
        index = {}
        model = get_user_model()
        for row in model._default_manager.filter(Q(is_active=True)).values(
                "pk", model.USERNAME_FIELD, "email", "first_name", "last_name"):
            _add(index, _key(row[model.USERNAME_FIELD]), row["pk"])
            _add(index, _key(row["email"] or ""), row["pk"])
            first, last = (row["first_name"] or "").strip(), (row["last_name"] or "").strip()
            if first and last:
                _add(index, _key(f"{first} {last}"), row["pk"])
                _add(index, _key(f"{last} {first}"), row["pk"])
        self._index = index

    def resolve(self, text):
        if self._index is None:
            self._build()
        found = self._index.get(_key(text))
        if found is None:
            raise BadValue("unknown_user", value=str(text)[:100])
        if found is AMBIGUOUS:
            raise BadValue("ambiguous_user", value=str(text)[:100])
        return found
