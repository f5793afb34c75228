"""Quick search (?q=): one implementation for every entity.

What a user types is found:
- any part of a name (every word must match one of the entity's `search_fields`, in any order);
- an email by its beginning (`nikolays`, `nikolays@`) or its domain (`example.com`, `@example`);
- a phone by any 4 or more consecutive digits in any written form: `+7903…`, `8903…` (the national trunk
  prefix of `CRM_DEFAULT_REGION` is read as the country code), `903 751`, `(495) 123-45`;
- a company: a deal by its company's name (`company__name` in the deal's search fields), a contact by the name
  of a company they are linked to (any relation to a record with a `name`) — only a company the user may read,
  so a search cannot reveal which hidden company a record is linked to.

Speed: the matches are one condition on the entity's own rows, `names OR companies' names OR
pk = ANY(ARRAY(emails)) OR pk = ANY(ARRAY(phones))`: every part is an index condition (trigram GIN indexes on
the name columns, on the row's copy of its companies' names (`crm_site.lists.related_names`) and on the
normalised phones and emails, made by `crm_site.lists.indexes`; the primary key for the arrays, each subquery
run once), so PostgreSQL ORs them as bitmaps and ANDs that with the list's other indexed filters (a custom
field, the owner) before it reads a single row. An `IN (… UNION …)` subquery could
not combine so: it read every name match first, then checked the filters row by row.
"""

import re

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from .expressions import ColumnContains, InArray
from .models import Communication
from .normalize import normalize_email, phone_digits
from .validation import clean_text, search_too_long

MIN_PHONE_DIGITS = 4
MIN_EMAIL_CHARS = 3
MAX_WORDS = 6
PHONE_LIKE = re.compile(r"[\d\s()+\-.]+")


def search_queryset(queryset, query, hidden=(), user=None):
    """Records matching `query`. Fields in `hidden` (the user's field rules) are not searched, so a search
    cannot reveal a value the user may not see ("phone" and "email" name the channels); with `user`, a linked
    record (a deal's or a contact's company) finds by its name only when they may read it."""
    query = clean_text(query or "").strip()
    if not query:
        return queryset
    if search_too_long(query):  # the screens say so (validation.search_too_long_message)
        return queryset.none()
    return queryset.filter(search_condition(queryset.model, query, hidden, user=user))


def search_condition(model, query, hidden=(), user=None):
    """The condition on `model`'s own rows (live or in the bin: the caller's queryset decides) matching `query`
    (see the module's docstring): the name words on the row's columns, OR'ed with `pk = ANY(ARRAY(…))` for the
    matches found in other tables (companies, phones, emails)."""
    entity = model.entity()
    words = query.split()[:MAX_WORDS]
    fields = [name for name in entity.search_fields if name.split("__")[0] not in hidden]
    parts = []
    if fields:
        condition = Q()
        for word in words:
            word_q = Q()
            for field_name in fields:
                word_q |= _word_condition(model, field_name, word, user)
            condition &= word_q
        parts.append(condition)
    parts += _related_name_matches(entity, query, hidden, user)
    if entity.has_channels:
        parts += [InArray(ids) for ids in _channel_matches(model, query, words, hidden)]
    if not parts:
        return Q(pk__in=[])
    found = Q()
    for part in parts:
        found |= part
    return found


def _word_condition(model, field_name, word, user):
    """One word against one search field. A field of another table (`company__name`) is matched there, as
    `company_id = ANY(ARRAY(…))`: an OR over a join would keep PostgreSQL from combining the indexes."""
    if "__" not in field_name:
        return Q(**{f"{field_name}__icontains": word})
    first, rest = field_name.split("__", 1)
    field = model._meta.get_field(first)
    if field.many_to_one and "__" not in rest:
        readable = _readable(user, field.related_model)
        target = field.related_model._base_manager.all() if readable is None else readable
        target = target.filter(**{f"{rest}__icontains": word}).order_by()
        return InArray(target.values(field.target_field.name), field.attname)
    return InArray(model._base_manager.filter(**{f"{field_name}__icontains": word}).order_by().values("pk"))


def _readable(user, model):
    """`model`'s records (live or in the bin) `user` may read, through `visible_to`; None when that needs no
    condition: they may read them all, or no user was given (an internal caller)."""
    if user is None:
        return None
    from access.scopes import READ, scope_key

    if scope_key(user, model, READ) == "all":
        return None
    return model.all_objects.visible_to(user, READ)


def matching_ids(model, query, hidden=(), user=None):
    """A subquery of the ids of `model`'s records (live or in the bin: the caller's queryset decides) matching
    `query`."""
    return model._base_manager.filter(search_condition(model, query, hidden, user=user)).order_by().values("pk")


def _related_name_matches(entity, query, hidden, user):
    """Conditions on records linked to a company (or any record with a `name`) whose name contains the query: a
    contact is found by the company they work at. On PostgreSQL the row's own copy of those names
    (crm_site.lists.related_names, trigram-indexed); elsewhere a subquery on the link table.

    For a user who may not read every company, the copy still finds the candidates (its trigram index, a bitmap
    like the names'), and each candidate is kept only if it is linked to a company they may read whose name
    matches (`pk IN (subquery)`: a hashed SubPlan probed for the few rows the bitmaps leave); the copy holds the
    names of every linked company, so alone it would reveal the hidden ones. Before, those ids were a bitmap of
    their own (`pk = ANY(ARRAY(…))`): 4 ms of a manager's `Бел` page at 1M contacts, and 0.26–0.36 s with a
    common fragment (`ова`), against 0.17–0.22 s now. A correlated EXISTS per found row made PostgreSQL give
    up the bitmaps for a scan by primary key (15 → 49 ms for `Бел`). Without the copy (SQLite), the ids."""
    from django.db import connection

    from .lists import related_names

    parts = []
    if len(query) < 3:
        return parts
    for relation in related_names.name_relations(entity):
        if relation.name in hidden:
            continue
        readable = _readable(user, relation.target_model)
        copied = related_names.enabled(connection)
        if readable is None and copied:
            parts.append(ColumnContains(related_names.column_for(relation), query))
            continue
        named = relation.target_model._base_manager.all() if readable is None else readable
        named = named.filter(name__icontains=query).order_by()
        link_to = relation.through_model._meta.get_field(relation.to_field).attname
        links = relation.through_model.objects.filter(InArray(named.values("pk"), link_to))
        linked = links.order_by().values(relation.from_field)
        if copied:
            # The copy's trigram index finds the candidates (it holds every linked company's name, so it
            # finds a superset); each is then kept only if it is linked to a readable company of that name —
            # a hash probe (`IN (subquery)`, a hashed SubPlan) on the few rows the bitmaps leave.
            parts.append(ColumnContains(related_names.column_for(relation), query) & Q(pk__in=linked))
        else:
            parts.append(InArray(linked))
    return parts


def phone_fragments(query):
    """The digit strings a phone typed as `query` shows inside a normalised (E.164) number; empty when the query
    is not a phone or a part of one (fewer than 4 digits, letters)."""
    if not PHONE_LIKE.fullmatch(query):
        return []
    digits = phone_digits(query)
    if len(digits) < MIN_PHONE_DIGITS:
        return []
    fragments = [digits]
    if not query.lstrip().startswith("+"):
        import phonenumbers

        metadata = phonenumbers.PhoneMetadata.metadata_for_region(settings.CRM_DEFAULT_REGION)
        prefix = metadata.national_prefix if metadata is not None else None
        if prefix and digits.startswith(prefix) and len(digits) > len(prefix) + 2:
            # `8 903 751…` typed in Russia is `+7 903 751…`; `0 44 …` in Ukraine is `+380 44 …`.
            fragments.append(f"{metadata.country_code}{digits[len(prefix):]}")
    return fragments


def _channel_matches(model, query, words, hidden):
    """Subqueries of record ids whose email or phone matches."""
    content_type = ContentType.objects.get_for_model(model)
    comms = Communication.objects.filter(content_type=content_type).order_by()
    parts = []
    if "email" not in hidden and len(words) == 1:
        word = normalize_email(words[0])
        if len(word.strip("@")) >= MIN_EMAIL_CHARS and not phone_fragments(word):
            emails = comms.filter(channel=Communication.Channel.EMAIL)
            if word.startswith("@"):
                condition = Q(normalized__contains=word)
            elif "@" in word:
                condition = Q(normalized__contains=word)
            else:
                # The beginning of the address, or its domain (`example.com`, `example`).
                condition = Q(normalized__startswith=word) | Q(normalized__contains=f"@{word}")
            parts.append(emails.filter(condition).values("object_id"))
    if "phone" not in hidden:
        fragments = phone_fragments(query)
        if fragments:
            condition = Q()
            for fragment in fragments:
                condition |= Q(normalized__contains=fragment)
            parts.append(comms.filter(condition, channel=Communication.Channel.PHONE).values("object_id"))
    return parts
