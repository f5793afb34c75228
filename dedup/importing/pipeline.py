"""The import, phase B: mapped rows -> decided ImportRows (the preview) -> applied in batches -> undone.

    batch = batch_upload(user=user, entity="contact", content=upload, name=upload.name)
    batch_configure(batch, mapping=..., defaults=..., on_duplicate="merge", match=["phone", "email"])
    batch_prepare(batch, user=user)       # reads the file, decides every row: the preview is batch.rows
    batch_apply(batch.pk)                 # writes through the bulk services, in chunks, exactly once
    batch_undo(batch, user=user)

How a row is decided (set-based, a handful of queries per 1,000 rows):
1. rows with errors (a bad date, an unknown list value, an owner the importer may not import for) -> error;
2. every row is matched against the base (dedup.scoring.match_rows) and the rows against each other
   (within_pairs), keeping the verdicts the chosen criteria support; the rows and their match keys wait on
   disk meanwhile (spill), so the memory a preview takes does not grow with the file (dedup.within);
3. rows that are duplicates of each other, or match the same record, form a group: the first row leads, the
   others are combined into it (empty fields filled, new phones, emails, tags and links added) and reported
   as "duplicate in the file" — so a file re-imported creates nothing new;
4. the leader: no match -> create; several matches, none clearly best -> ambiguous (skipped); only a possible
   duplicate of a record or of an earlier row (the engine is not sure) -> held back, not created, with the
   candidate named, since a doubled record is worse than a row held back (the batch's `create_possible`,
   chosen after looking at them, creates them); a match the
   importer may not edit -> "duplicate of a record you cannot edit" (nothing of it is shown); otherwise the
   duplicate action: skip, merge, replace, or allow (create anyway). Merge and replace store a field-by-field
   diff and the exact write (`plan`) with the record's version, so the apply does what the preview showed
   (a record changed since the preview is refused for that row and reported).

The apply takes the undone rows in chunks of CHUNK under a lock on the batch row; each chunk's writes and the
rows' `applied` flags commit in one transaction, so a worker dying mid-way or a task delivered twice applies
every row exactly once: the next run resumes at the first row not applied.
"""

import datetime as dt
import logging
import os
import uuid
from array import array
from collections import Counter
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access.scopes import (
    EDIT,
    IMPORT,
    READ,
    level,
    primary_departments,
    scope_q,
    user_department_ids,
    user_subtree_ids,
)
from crm_site import events, history
from crm_site.gcpause import without_cycle_collector
from crm_site.models import Communication, Tag
from crm_site.record_writes import RecordInput
from crm_site.registry import registry

from .errors import ERROR, WARNING, ImportFileError, RowIssue
from .mapping import Mapping, auto_map
from .models import ImportBatch, ImportRow
from .parsed import open_import_file
from .rows import Channel, ImportDefaults, MappedRow, RowMapper, guess_file_locale, row_match_keys
from .spill import RowSpill

log = logging.getLogger(__name__)
Outcome = ImportRow.Outcome
Status = ImportBatch.Status
WRITING = (Outcome.CREATE, Outcome.MERGE, Outcome.REPLACE)
CHUNK = 500  # rows applied per transaction
MATCH_CHUNK = 10000  # rows matched against the base per call
STAGE_CHUNK = 5000  # decided rows written to the staging table at once
DECIDE_CHUNK = 2000  # rows (whole in-file groups) decided together: their links, the records they match
_NO_MATCH = ("none", ())
FILE_OPTIONS = ("file_format", "encoding", "delimiter", "sheet")
LOCALE_OPTIONS = ("date_order", "decimal_comma", "region")

# Criteria a user picks -> the engine's comparisons that must agree for a match to count.
CRITERIA = {
    "phone": ("phone",), "email": ("email",), "name": ("last_name", "first_name"), "company": ("company",),
    "tax_id": ("tax_id",), "inn": ("tax_id",), "birthday": ("birthday",), "address": ("address",),
    "company_name": ("company_name",), "website": ("domain",),
}
CUSTOM_CRITERION = "cf_"  # plus a code: a custom field marked "finds duplicates" (its own comparison)


def criteria_for(entity_key):
    """The criteria an import of `entity_key` may match on: the built-in ones and, as `cf_<code>`, every custom
    field an admin marked "finds duplicates"."""
    from dedup.keys import criterion_fields

    return {**CRITERIA, **{field.name: (field.name,) for field in criterion_fields(entity_key)}}


def _criterion_codes(criterion):
    return CRITERIA.get(criterion) or ((criterion,) if criterion.startswith(CUSTOM_CRITERION) else ())


STRONG_LEVELS = {"exact", "alias", "initial", "fuzzy", "shared_line", "mailbox", "close", "same"}
AMBIGUITY_MARGIN = 5  # percent: a second duplicate this close to the best makes the row ambiguous

MESSAGES = {
    "owner_not_covered": gettext_lazy("You may not import records for the responsible user “%(value)s”."),
    "in_file": gettext_lazy("The same record as row %(row)s of the file: combined into it."),
    "in_file_conflict": gettext_lazy("“%(field)s”: row %(row)s gives “%(old)s”, this row “%(new)s”; the first is kept."),
    "ambiguous": gettext_lazy("Matches several records equally well (%(ids)s): skipped, nothing was changed."),
    "possible": gettext_lazy("May be the same as record %(ids)s (%(percent)s%%): held back, so as not to create "
                             "a duplicate. If the rows held back are other people, choose “create possible "
                             "duplicates” in the duplicate control."),
    "possible_in_file": gettext_lazy("May be the same as row %(row)s of the file (%(percent)s%%): held back, so as "
                                     "not to create a duplicate. If the rows held back are other people, choose "
                                     "“create possible duplicates” in the duplicate control."),
    "required": gettext_lazy("“%(field)s” is required: the row was not imported."),
    "cannot_edit": gettext_lazy("Duplicate of a record you cannot edit: skipped."),
    "skip": gettext_lazy("Duplicate of record %(id)s: skipped."),
    "conflict": gettext_lazy("“%(field)s”: the record has “%(old)s”, the file “%(new)s”; the record's value is kept."),
    "company_hidden": gettext_lazy("The company “%(value)s” matches a record you can't see: not linked."),
    "not_found": gettext_lazy("No %(what)s “%(value)s” was found to link."),
    "changed_since": gettext_lazy("The record was changed after the preview; nothing was written to it."),
    "write": "%(text)s",
    "undo_changed": gettext_lazy("Changed after the import: not reverted."),
}


def message_text(item):
    """A stored message ({"code", "params"} or a RowIssue's JSON) in the active language."""
    code = item.get("code")
    if code in MESSAGES:
        try:
            return str(MESSAGES[code]) % item.get("params", {})
        except (KeyError, TypeError, ValueError):
            return str(MESSAGES[code])
    try:
        return RowIssue.from_json(item).message
    except (KeyError, TypeError, ValueError):
        return str(code)


def _msg(code, level=WARNING, **params):
    return {"code": code, "params": params, "level": level}


def _entity(entity):
    return registry[entity] if isinstance(entity, str) else entity


def entity_from_name(name):
    """"contacts", "contact", "Contacts" -> the registry Entity (KeyError when none)."""
    key = str(name).strip().lower()
    for entity in registry:
        plural = str(entity.model._meta.verbose_name_plural).lower()
        if key in (entity.key, entity.key + "s", entity.model._meta.model_name, plural, entity.model.__name__.lower()):
            return entity
    raise KeyError(name)


# ---------------------------------------------------------------------------
# Rights


def check_import_right(user, entity):
    if scope_q(user, _entity(entity).model, IMPORT) is None:
        raise PermissionDenied(_("You may not import this kind of record."))


class OwnerCheck:
    """Whether the import right's level covers the responsible user a row gets."""

    def __init__(self, user, entity):
        from access.models import Level

        self.user = user
        self.level = level(user, entity.model, IMPORT)
        self.Level = Level
        self._departments = None
        self._cache = {}

    def covers(self, owner_id):
        if owner_id in self._cache:
            return self._cache[owner_id]
        Level = self.Level
        if self.level >= Level.ALL or owner_id == self.user.pk:
            ok = self.level > Level.NONE
        elif self.level >= Level.DEPARTMENT:
            if self._departments is None:
                self._departments = (user_subtree_ids(self.user) if self.level >= Level.SUBDEPARTMENTS
                                     else user_department_ids(self.user))
            ok = primary_departments({owner_id}).get(owner_id) in self._departments
        else:
            ok = False
        self._cache[owner_id] = ok
        return ok


# ---------------------------------------------------------------------------
# Upload and configuration


def batch_upload(*, user, entity, content, name, options=None):
    """Store the file through Django's storage (web and workers may be different hosts) and start a batch."""
    entity = _entity(entity)
    check_import_right(user, entity)
    base = os.path.basename(str(name or "import")) or "import"
    stored_name = f"imports/{uuid.uuid4().hex}/{base[-100:]}"
    if isinstance(content, (bytes, bytearray)):
        content = ContentFile(bytes(content))
    elif not isinstance(content, File):
        content = File(content)
    stored = default_storage.save(stored_name, content)
    options = {k: v for k, v in (options or {}).items() if k in FILE_OPTIONS + LOCALE_OPTIONS and v not in (None, "")}
    return ImportBatch.objects.create(entity=entity.key, created_by=user, file=stored, file_name=base[:255],
                                      options=options)


def open_batch_file(batch):
    """The batch's file opened and checked (a ParsedFile; raises ImportFileError)."""
    handle = default_storage.open(batch.file, "rb")
    options = {k: batch.options[k] for k in FILE_OPTIONS if batch.options.get(k)}
    try:
        parsed = open_import_file(handle, name=batch.file_name, **options)
    except BaseException:
        handle.close()
        raise
    inner_close = parsed._close

    def close():
        if inner_close:
            inner_close()
        handle.close()

    parsed._close = close
    return parsed


def batch_mapping(batch, parsed):
    """The batch's mapping for this file: the one configured, else the automatic one."""
    if batch.mapping.get("columns"):
        return Mapping.from_json({"entity": batch.entity, "columns": batch.mapping["columns"]}, parsed.headers)
    return auto_map(parsed.headers, batch.entity, file_format=parsed.format)


def batch_configure(batch, *, mapping=None, defaults=None, on_duplicate=None, match=None, all_or_nothing=None,
                    create_possible=None, options=None):
    if mapping is not None:
        batch.mapping = mapping.as_json() if isinstance(mapping, Mapping) else mapping
    if defaults is not None:
        batch.defaults = defaults.as_json() if isinstance(defaults, ImportDefaults) else dict(defaults)
    if on_duplicate is not None:
        if on_duplicate not in ImportBatch.OnDuplicate.values:
            raise ValidationError({"on_duplicate": _("Choose skip, replace, merge or allow.")})
        batch.on_duplicate = on_duplicate
    if match is not None:
        known = criteria_for(batch.entity)
        unknown = [c for c in match if c not in known]
        if unknown:
            raise ValidationError({"match": _("Unknown criterion: %(names)s.") % {"names": ", ".join(unknown)}})
        batch.match = list(match)
    if all_or_nothing is not None:
        batch.all_or_nothing = bool(all_or_nothing)
    if create_possible is not None:
        batch.create_possible = bool(create_possible)
    if options:
        batch.options = {**batch.options, **{k: v for k, v in options.items() if k in FILE_OPTIONS + LOCALE_OPTIONS}}
    batch.save()
    return batch


def _locale(batch, parsed, mapping):
    guessed = guess_file_locale(parsed, mapping, region=batch.options.get("region", ""))
    changes = {k: batch.options[k] for k in ("date_order", "decimal_comma") if k in batch.options}
    if changes:
        import dataclasses

        guessed = dataclasses.replace(guessed, **changes)
    return guessed


# ---------------------------------------------------------------------------
# Prepare: read, map, decide (the preview)


def batch_prepare(batch, *, user):
    """Read the whole file, decide every row and store the decided rows (replacing an earlier preview).
    A file that can't be read leaves the batch FAILED with the reason and no rows; raises ImportFileError."""
    with without_cycle_collector():
        return _prepare(batch, user=user)


def _prepare(batch, *, user):
    entity = _entity(batch.entity)
    check_import_right(user, entity)
    with RowSpill() as rows:
        try:
            with open_batch_file(batch) as parsed:
                mapping = batch_mapping(batch, parsed)
                locale = _locale(batch, parsed, mapping)
                defaults = ImportDefaults.from_json(batch.defaults)
                if defaults.owner is None:
                    defaults = ImportDefaults(owner=user.pk, source=defaults.source, tags=defaults.tags,
                                              opened=defaults.opened, fields=defaults.fields)
                mapper = RowMapper(entity, mapping, locale=locale, defaults=defaults)
                decider = Decider(user, entity, on_duplicate=batch.on_duplicate, match=batch.match,
                                  replace_kinds=replace_kinds(mapping), hold_possible=not batch.create_possible)
                for raw in parsed.rows():
                    row = mapper.map(raw)
                    row.raw = [_jsonable(v) for v in raw.values]
                    decider.take(row)
                    rows.append(row)
                batch.file_format = parsed.format
        except ImportFileError as error:
            with transaction.atomic():
                batch.rows.all().delete()
                batch.status, batch.error, batch.total = Status.FAILED, error.message, 0
                batch.save(update_fields=["status", "error", "total", "file_format"])
            raise
        with transaction.atomic():
            batch.rows.all().delete()
            staged, outcomes = [], Counter()
            for _position, row, decided in decider.decide_each(rows):
                staged.append(dict(decided, number=row.number, raw=row.raw))
                outcomes[decided["outcome"]] += 1
                if len(staged) >= STAGE_CHUNK:
                    insert_rows(batch, staged)
                    staged = []
            insert_rows(batch, staged)
            batch.total = sum(outcomes.values())
            batch.counts = count_outcomes(outcomes)
            batch.status, batch.error, batch.done = Status.READY, "", 0
            batch.companies = {}
            batch.save()
    return batch


def insert_rows(batch, rows, *, chunk=5000):
    """Stage decided rows: on PostgreSQL one INSERT ... SELECT FROM jsonb_populate_recordset per chunk (one JSON
    parameter: no per-value adaptation, ~10x bulk_create's speed for JSON columns), elsewhere bulk_create."""
    import json

    from django.db import connection

    if connection.vendor != "postgresql":
        ImportRow.objects.bulk_create([ImportRow(batch=batch, **row) for row in rows], batch_size=2000)
        return
    defaults = {"target_id": None, "leader": None, "diff": [], "messages": [], "plan": {}, "version": None,
                "applied": False, "record_id": None, "applied_version": None, "before": {}, "undone": False}
    fields = [f for f in ImportRow._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(ImportRow._meta.db_table)
    sql = f"INSERT INTO {table} ({columns}) SELECT {columns} FROM jsonb_populate_recordset(NULL::{table}, %s::jsonb)"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            payload = []
            for row in rows[start:start + chunk]:
                values = {**defaults, **row, "batch_id": batch.pk}
                payload.append({f.column: values.get(f.attname, values.get(f.name)) for f in fields})
            cursor.execute(sql, [json.dumps(payload, default=str, ensure_ascii=False)])


def replace_kinds(mapping):
    """{channel: {kinds}} the mapping has columns for (replace mode replaces those kinds only)."""
    out = {}
    for column in mapping.columns:
        if column.target.startswith("channel:"):
            _c, channel, kind = column.target.split(":", 2)
            out.setdefault(channel, set()).add(kind)
            if column.kind_column is not None:  # the kind comes from another column: any kind
                out[channel] |= {str(k) for k in Communication.KINDS_BY_CHANNEL[channel]}
    return out


def count_outcomes(outcomes):
    """{outcome: rows} of an iterable of outcomes, or of a Counter of them."""
    counted = outcomes if isinstance(outcomes, Counter) else Counter(outcomes)
    return {str(outcome): count for outcome, count in counted.items()}


def _jsonable(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return str(value)


def _empty(value):
    return value is None or value == "" or value == [] or value == set()


def _same(old, new):
    if isinstance(old, str) and isinstance(new, str):
        return " ".join(old.casefold().split()) == " ".join(new.casefold().split())
    if isinstance(old, dt.datetime) and isinstance(new, dt.datetime):
        return old == new
    if isinstance(old, (Decimal, int, float)) and isinstance(new, (Decimal, int, float, str)):
        try:
            return Decimal(str(old)) == Decimal(str(new))
        except ArithmeticError:
            return False
    return old == new


class _Pairs:
    """(i, j, percent) triples in three flat arrays (9 bytes a pair)."""

    def __init__(self):
        self.i, self.j, self.percent = array("I"), array("I"), array("B")

    def append(self, i, j, percent):
        self.i.append(i)
        self.j.append(j)
        self.percent.append(max(0, min(100, int(percent))))

    def __iter__(self):
        return zip(self.i, self.j, self.percent, strict=True)


class _Groups:
    """Union-find over row positions; the smallest position leads."""

    def __init__(self, n):
        self.parent = array("I", range(n))

    def find(self, i):
        while self.parent[i] != i:
            self.parent[i] = self.parent[self.parent[i]]
            i = self.parent[i]
        return i

    def union(self, i, j):
        a, b = self.find(i), self.find(j)
        if a != b:
            self.parent[max(a, b)] = min(a, b)


_IDENTITY = {"middle_name", "birthday", "gender", "tax_id"}  # what tells namesakes apart (not a new position)


def _same_name_same_contact(verdict):
    """Last and first names exactly alike, a phone or email shared, and nothing of the person's identity
    disagreeing (a father and son on one home line differ in patronymic or birthday)."""
    levels = {r["code"]: r.get("level") for r in verdict.reasons if r.get("agree")}
    return (levels.get("last_name") == "exact" and levels.get("first_name") == "exact"
            and ("phone" in levels or "email" in levels)
            and not any(r.get("agree") is False and r.get("code") in _IDENTITY for r in verdict.reasons))


def accepted(verdict, criteria):
    """Does the verdict count as "the same record" under the chosen criteria?

    Without criteria, when the engine calls it a duplicate. With criteria, when one of them agrees and the
    engine calls it a duplicate or a possible one: the importer's own choice ("the same INN is the same
    company") settles what the engine alone was not sure of; never against a "different person"."""
    if not criteria:
        return verdict.is_duplicate
    from dedup.scoring import POSSIBLE

    if not (verdict.is_duplicate or verdict.outcome == POSSIBLE):
        return False
    agreed = {r["code"] for r in verdict.reasons if r.get("agree") and r.get("level") in STRONG_LEVELS}
    return any(all(code in agreed for code in _criterion_codes(criterion)) for criterion in criteria)


class Decider:
    """Decides rows of one entity for one user: see the module's docstring."""

    def __init__(self, user, entity, *, on_duplicate, match=(), replace_kinds=None, hold_possible=True):
        self.user = user
        self.hold_possible = hold_possible
        self.entity = _entity(entity)
        self.model = self.entity.model
        self.mode = on_duplicate
        known = criteria_for(self.entity.key)
        self.criteria = [c for c in (match or ()) if c in known]
        self.replace_kinds = replace_kinds or {}
        self.owners = OwnerCheck(user, self.entity)
        self.fields = {f.name: f for f in self.model._meta.get_fields() if getattr(f, "concrete", False)
                       or f.many_to_many}
        self.tag_field = next((f.name for f in self.model._meta.many_to_many if f.related_model is Tag), None)
        self.relations = {relation.name: relation for relation in self.entity.relations}
        self._display_cache = {}
        self._link_entities = {}
        self._required = self._plain = self._probe = None
        self.companies = CompanyFinder(user)
        self._first = None  # what take() gathered

    # --- the whole set

    def decide(self, rows):
        """The decision of every row of `rows` (a list), in order."""
        out = [None] * len(rows)
        for position, _row, result in self.decide_each(rows):
            out[position] = result
        return out

    def decide_each(self, rows):
        """(position, row, decision) of every row of `rows`, a sequence read by position (a list, or the preview's
        RowSpill), in no particular order: a row is decided with the other rows of its in-file group, a chunk of
        groups at a time, so only that chunk's rows are in memory."""
        from dedup.scoring import base_unchanged

        with base_unchanged():  # deciding writes nothing: what the base holds is read once
            yield from self._decide_each(rows)

    def take(self, row):
        """The first pass over one row, as the file is read (the next position): its match keys, its number and
        its links, if it is valid; nothing else of a row is kept. decide_each() then reads the rows once only."""
        if self._first is None:  # the key sets are kept on disk: a 1M-row file's do not fit in memory
            self._first = (array("I"), array("I"), RowSpill(), _DistinctLinks(self), 0)  # positions, row numbers
        valid, numbers, keysets, links, position = self._first
        if self._screen(row) is None:
            valid.append(position)
            numbers.append(row.number)
            keysets.append(row_match_keys(self.entity, row))
            links.add(row)
        self._first = (valid, numbers, keysets, links, position + 1)

    def _decide_each(self, rows):
        if self._first is None:
            for position in range(len(rows)):
                self.take(rows[position])
        if self._first is None:  # no rows
            return
        valid, numbers, keysets, links, seen = self._first
        self._first = None
        with keysets:
            if seen != len(rows):
                raise ValueError("take() was given other rows than decide_each()")
            best = self._match_base(keysets)  # per valid row: ("none"|"one"|"ambiguous"|"possible", ids)
            groups = _Groups(len(valid))
            # In-file pairs the engine calls possible duplicates, held flat: namesakes at one company give them by
            # the square of the company's rows (640k pairs in the bench's 1M-row file).
            maybe_same = _Pairs()
            if len(keysets):
                from dedup.scoring import within_pairs

                # Another person is never merged nor held back (accepted() and _holds() say no): not weighed out.
                for i, j, verdict in within_pairs(self.entity.key, keysets, different_person=False):
                    if accepted(verdict, self.criteria):
                        groups.union(i, j)
                    elif self._holds(verdict):
                        maybe_same.append(i, j, verdict.percent)
        by_target = {}
        for index, (kind, ids) in enumerate(best):
            if kind == "one":
                if ids[0] in by_target:
                    groups.union(by_target[ids[0]], index)
                by_target.setdefault(ids[0], index)
        del by_target
        links.resolve()  # the companies the rows name, found (or planned) once for the whole file
        followers = {}  # leader -> the later rows of its group (most rows are alone: no entry)
        for index in range(len(valid)):
            leader = groups.find(index)
            if leader != index:
                followers.setdefault(leader, []).append(index)
        held = self._held_in_file(groups, maybe_same)
        # Second pass: in file order, each leader with its group; the rows of a group are read back together.
        chunk, size, next_valid = [], 0, 0
        for position in range(len(rows)):
            if next_valid < len(valid) and valid[next_valid] == position:
                index, next_valid = next_valid, next_valid + 1
                if groups.find(index) != index:
                    continue  # decided with its leader
                members = [index] + followers.pop(index, [])
                chunk.append(members)
                size += len(members)
                if size >= DECIDE_CHUNK:
                    yield from self._decide_groups(rows, valid, numbers, chunk, best, held, links)
                    chunk, size = [], 0
            else:
                row = rows[position]
                yield position, row, self._screen(row)
        if chunk:
            yield from self._decide_groups(rows, valid, numbers, chunk, best, held, links)

    def _screen(self, row):
        """The ERROR decision of a row that can't be imported as it is, else None."""
        owner = row.data.get("owner")
        if row.has_errors:
            return self._result(Outcome.ERROR, messages=[i.as_json() for i in row.issues])
        if owner is not None and not self.owners.covers(owner):
            return self._result(Outcome.ERROR, messages=[i.as_json() for i in row.issues] + [
                _msg("owner_not_covered", ERROR, value=self._owner_name(owner))])
        return None

    def _decide_groups(self, rows, valid, numbers, chunk, best, held, links):
        """Decide the groups of `chunk` (lists of valid-row indexes, the leader first): (position, row, decision)."""
        loaded = {index: rows[valid[index]] for members in chunk for index in members}
        for row in loaded.values():
            links.attach(row)
        leaders = []
        for members in chunk:
            leader = members[0]
            combined = _copy_row(loaded[leader])
            for index in members[1:]:
                follower = loaded[index]
                conflicts = self._combine(combined, follower)
                yield valid[index], follower, self._result(
                    Outcome.IN_FILE, leader=combined.number,
                    messages=[i.as_json() for i in follower.issues] + [_msg("in_file", row=combined.number)] + [
                        _msg("in_file_conflict", field=self._label(name), row=combined.number, old=old, new=new)
                        for name, old, new in conflicts])
            kinds = [best[index] for index in members]
            targets = sorted({ids[0] for kind, ids in kinds if kind == "one"})
            if any(kind == "ambiguous" for kind, _ids in kinds) or len(targets) > 1:
                match = ("ambiguous", sorted({i for kind, ids in kinds if kind != "possible" for i in ids}))
            elif targets:
                match = ("one", targets)
            elif any(kind == "possible" for kind, _ids in kinds):
                match = ("possible", max((ids for kind, ids in kinds if kind == "possible"), key=lambda ids: ids[1]))
            elif leader in held:
                earlier, percent = held[leader]
                match = ("possible_row", [numbers[earlier], percent])
            else:
                match = _NO_MATCH
            leaders.append((valid[leader], loaded[leader], combined, match))
        target_ids = sorted({ids[0] for *_rows, (kind, ids) in leaders if kind == "one"})
        state = TargetState(self.user, self.entity, target_ids, self.tag_field,
                            with_details=self.mode in (ImportBatch.OnDuplicate.MERGE, ImportBatch.OnDuplicate.REPLACE))
        state.readable(sorted({i for *_rows, (kind, ids) in leaders if kind == "ambiguous" for i in ids}
                              | {ids[0] for *_rows, (kind, ids) in leaders if kind == "possible"}))
        for position, row, combined, (kind, ids) in leaders:
            yield position, row, self._decide_one(combined, kind, ids, state)

    def _holds(self, verdict):
        """A possible duplicate (not sure enough to merge) is held back rather than created: a doubled record is
        the import's worst outcome. So is the same full name on the same phone or email with nothing against
        it, whatever the engine makes of a name the file repeats a lot. With chosen criteria only when one of
        them agrees."""
        from dedup.scoring import POSSIBLE

        if not self.hold_possible or self.mode == ImportBatch.OnDuplicate.ALLOW:
            return False
        if verdict.outcome != POSSIBLE and not _same_name_same_contact(verdict):
            return False
        if not self.criteria:
            return True
        agreed = {r["code"] for r in verdict.reasons if r.get("agree")}
        return any(code in agreed for criterion in self.criteria for code in _criterion_codes(criterion))

    @staticmethod
    def _held_in_file(groups, maybe_same):
        """{leader: (earlier leader, percent)}: a group to be created that may be the same as an earlier group of
        the file is held back too (the most likely earlier one)."""
        earlier = {}
        for i, j, percent in maybe_same:  # in any order: the likeliest, then the earliest, wins
            a, b = sorted((groups.find(i), groups.find(j)))
            if a != b and (b not in earlier or (percent, -a) > (earlier[b][1], -earlier[b][0])):
                earlier[b] = (a, percent)
        return earlier

    def _match_base(self, keysets):
        if self.mode == ImportBatch.OnDuplicate.ALLOW or not keysets:
            return [_NO_MATCH] * len(keysets)
        from dedup.scoring import match_rows

        out = []
        for start in range(0, len(keysets), MATCH_CHUNK):
            chunk = [keysets[position] for position in range(start, min(start + MATCH_CHUNK, len(keysets)))]
            # shared_contacts: also the records that only share a phone or email, so that the same name on the
            # same phone is held back even where the file's own repeats make the name weigh little.
            for matches in match_rows(self.entity.key, chunk, limit=3,
                                      shared_contacts=self.hold_possible, different_person=False):
                dups = [m for m in matches if accepted(m.verdict, self.criteria)]
                held = [m for m in matches if self._holds(m.verdict)]
                if not dups and held:  # best first: [id, percent]
                    out.append(("possible", [held[0].object_id, held[0].verdict.percent]))
                elif not dups:
                    out.append(_NO_MATCH)
                elif len(dups) > 1 and dups[1].verdict.percent >= dups[0].verdict.percent - AMBIGUITY_MARGIN:
                    out.append(("ambiguous", [m.object_id for m in dups]))
                else:
                    out.append(("one", [dups[0].object_id]))
        return out

    # --- one row

    def _result(self, outcome, *, target=None, leader=None, diff=(), messages=(), plan=None, version=None):
        return {"outcome": outcome, "target_id": target, "leader": leader, "diff": list(diff),
                "messages": list(messages), "plan": plan or {}, "version": version}

    def _decide_one(self, row, kind, ids, state):
        issues = [i.as_json() for i in row.issues]
        if kind == "ambiguous":
            visible = state.readable(ids)
            shown = ", ".join(f"#{i}" for i in ids if i in visible) or "—"
            return self._result(Outcome.AMBIGUOUS, messages=issues + [_msg("ambiguous", ids=shown)])
        if kind == "possible":
            shown = f"#{ids[0]}" if ids[0] in state.readable([ids[0]]) else "—"
            return self._result(Outcome.POSSIBLE, messages=issues + [_msg("possible", ids=shown, percent=ids[1])])
        if kind == "possible_row":
            return self._result(Outcome.POSSIBLE, messages=issues + [_msg("possible_in_file", row=ids[0],
                                                                          percent=ids[1])])
        if kind == "none" or self.mode == ImportBatch.OnDuplicate.ALLOW:
            refusals = self._refusals(row.data)
            if refusals:
                return self._result(Outcome.ERROR, messages=issues + refusals)
            return self._result(Outcome.CREATE, messages=issues + row_link_messages(row),
                                plan=self._create_plan(row))
        target = ids[0]
        if target not in state.editable:
            return self._result(Outcome.CANNOT_EDIT, messages=issues + [_msg("cannot_edit")])
        if self.mode == ImportBatch.OnDuplicate.SKIP:
            return self._result(Outcome.SKIP, target=target, messages=issues + [_msg("skip", id=target)])
        plan, diff, notes = self._update_plan(row, state.of(target))
        version = state.versions.get(target)
        if not plan:
            return self._result(Outcome.UNCHANGED, target=target, diff=diff, messages=issues + notes,
                                version=version)
        outcome = Outcome.MERGE if self.mode == ImportBatch.OnDuplicate.MERGE else Outcome.REPLACE
        plan["before"] = state.before(target, plan)
        return self._result(outcome, target=target, diff=diff, messages=issues + notes + row_link_messages(row),
                            plan=plan, version=version)

    def _refusals(self, data):
        """What the write service would refuse in a new record, found now so that the preview shows what the
        apply will do: a required field left empty (unless the entity gives new records a default), the model's
        own rules on its plain fields ("at least a last name or a first name")."""
        if self._required is None:
            defaults = import_string(self.entity.new_defaults)([{}])[0] if self.entity.new_defaults else {}
            concrete = [f for f in self.model._meta.concrete_fields if f.editable and not f.primary_key]
            self._required = [f.name for f in concrete if not f.blank and not f.has_default()
                              and f.name not in defaults and f.name not in ("owner", "department")]
            self._probe = self.model()  # one instance for every row: its plain fields are set from each row
            self._plain = {f.attname: getattr(self._probe, f.attname) for f in concrete if not f.is_relation}
        messages = [_msg("required", ERROR, field=self._label(name)) for name in self._required
                    if _empty(data.get(name))]
        for name, default in self._plain.items():
            setattr(self._probe, name, data.get(name, default))
        try:
            self._probe.clean()
        except ValidationError as error:
            messages += [_msg("write", ERROR, text=text) for text in error.messages]
        return messages

    def _create_plan(self, row):
        data = {k: _jsonable(v) for k, v in row.data.items() if k != self.tag_field}
        plan = {"data": data}
        if self.tag_field and row.data.get(self.tag_field):
            plan["tags"] = list(row.data[self.tag_field])
        if row.channels:
            channels = {}
            for channel in row.channels:
                channels.setdefault(channel.channel, []).append({"value": channel.value, "kind": channel.kind})
            plan["channels"] = channels
        links = self._planned_links(row)
        if links:
            plan["links"] = links
        fks = self._planned_fks(row)
        if fks:
            plan["fks"] = fks
        if row.custom and "custom_fields" in self.fields:
            plan["custom"] = _jsonable(row.custom)  # custom fields (crm_site/customfields) through the hook
        return plan

    def _planned_links(self, row):
        """{relation: [{"company": key} or {"target": id}, position...]} for the row's links of relations."""
        out = {}
        for name, links in row.links.items():
            relation = self.relations.get(name)
            if relation is None:
                continue
            for link in links:
                found = link.get("_found")
                if found is None:
                    continue
                item = dict(found)
                if "position" in relation.extra_fields and row.data.get("position"):
                    item["position"] = row.data["position"][:150]
                out.setdefault(name, []).append(item)
        return out

    def _planned_fks(self, row):
        out = {}
        for name, links in row.links.items():
            if name in self.relations or name not in self.fields:
                continue
            for link in links:
                if link.get("_found") is not None:
                    out[name] = link["_found"]
                    break
        return out

    def _update_plan(self, row, current):
        replace = self.mode == ImportBatch.OnDuplicate.REPLACE
        data, diff, notes = {}, [], []
        for name, value in row.data.items():
            if name == self.tag_field or (name in row.defaulted):
                continue
            field = self.fields.get(name)
            if field is None:
                continue
            old = current["values"].get(name)
            if _empty(value):
                continue
            if _empty(old):
                data[name] = _jsonable(value)
                diff.append(self._diff(name, old, value, "fill"))
            elif _same(old, value):
                continue
            elif replace:
                data[name] = _jsonable(value)
                diff.append(self._diff(name, old, value, "replace"))
            else:
                entry = self._diff(name, old, value, "conflict")
                diff.append(entry)
                notes.append(_msg("conflict", field=self._label(name), old=entry["old"], new=entry["new"]))
        plan = {}
        if data:
            plan["data"] = data
        # tags: the file's (and the defaults') are added; replace sets the file's when the file has any
        file_tags = list(row.data.get(self.tag_field) or ()) if self.tag_field else []
        if file_tags:
            existing = current["tags"]
            known = {t.casefold() for t in existing}
            if replace and self.tag_field not in row.defaulted:
                if {t.casefold() for t in file_tags} != known:
                    plan["tags"] = file_tags
                    diff.append({"field": self.tag_field, "old": ", ".join(existing), "new": ", ".join(file_tags),
                                 "action": "replace"})
            else:
                new = [t for t in file_tags if t.casefold() not in known]
                if new:
                    plan["tags"] = existing + new
                    diff.append({"field": self.tag_field, "old": "", "new": ", ".join(new), "action": "add"})
        if row.custom and "custom_fields" in self.fields:
            existing = dict(current["values"].get("custom_fields") or {})
            final, changed = dict(existing), False
            for key, value in _jsonable(row.custom).items():
                old = existing.get(key)
                if _empty(value) or (not _empty(old) and _same(old, value)):
                    continue
                if _empty(old) or replace:
                    final[key], changed = value, True
                    diff.append({"field": f"custom:{key}", "old": "" if old is None else str(old), "new": str(value),
                                 "action": "fill" if _empty(old) else "replace"})
                else:
                    diff.append({"field": f"custom:{key}", "old": str(old), "new": str(value), "action": "conflict"})
            if changed:
                plan["custom"] = final
        channels = self._channel_plan(row, current["channels"], replace, diff)
        if channels:
            plan["channels"] = channels
        links = self._link_plan(row, current["links"], diff)
        if links:
            plan["links"] = links
        fks = self._planned_fks(row)
        for name, found in fks.items():
            old = current["values"].get(name)
            if found.get("target") is not None and found["target"] == old:
                continue
            if _empty(old) or replace:
                plan.setdefault("fks", {})[name] = found
                diff.append({"field": name, "old": self._display(name, old) if old else "",
                             "new": found.get("label", ""), "action": "fill" if _empty(old) else "replace"})
        return plan, diff, notes

    def _channel_plan(self, row, existing, replace, diff):
        by_channel = {}
        for channel in row.channels:
            by_channel.setdefault(channel.channel, []).append(channel)
        out = {}
        for channel, given in by_channel.items():
            mine = [c for c in existing if c["channel"] == channel]
            known = {c["normalized"] for c in mine}
            if replace:
                kinds = self.replace_kinds.get(channel) or {c.kind for c in given}
                given_norm = {c.normalized for c in given}
                keep = [c for c in mine if c["kind"] not in kinds and c["normalized"] not in given_norm]
                final = [_item(c) for c in keep] + [{"value": c.value, "kind": c.kind} for c in given]
                old = sorted((c["normalized"], c["kind"]) for c in mine)
                new = sorted([(c["normalized"], c["kind"]) for c in keep] + [(c.normalized, c.kind) for c in given])
                if old != new:
                    out[channel] = final
                    diff.append({"field": channel, "old": ", ".join(c["value"] for c in mine),
                                 "new": ", ".join(i["value"] for i in final), "action": "replace"})
            else:
                new = [c for c in given if c.normalized not in known]
                if new:
                    out[channel] = [_item(c) for c in mine] + [{"value": c.value, "kind": c.kind} for c in new]
                    diff.append({"field": channel, "old": "", "new": ", ".join(c.value for c in new),
                                 "action": "add"})
        return out

    def _link_plan(self, row, existing, diff):
        out = {}
        for name, wanted in self._planned_links(row).items():
            mine = existing.get(name, [])
            known = {link["target"] for link in mine}
            new = [w for w in wanted if w.get("target") is None or w["target"] not in known]
            if new:
                out[name] = [dict(link) for link in mine] + new
                diff.append({"field": name, "old": "", "new": ", ".join(w.get("label", "") for w in new),
                             "action": "add"})
        return out

    def _combine(self, into, other):
        """Fold `other` (a later row of the same group) into `into`; returns [(field, kept, other's)]."""
        conflicts = []
        for name, value in other.data.items():
            if name == self.tag_field:
                tags = list(into.data.get(name) or [])
                known = {t.casefold() for t in tags}
                tags += [t for t in value if t.casefold() not in known]
                into.data[name] = tags
                continue
            if name not in into.data or (name in into.defaulted and name not in other.defaulted):
                into.data[name] = value
                into.defaulted.discard(name)
            elif name not in other.defaulted and not _same(into.data[name], value):
                conflicts.append((name, self._display(name, into.data[name]), self._display(name, value)))
        known = {(c.channel, c.normalized) for c in into.channels}
        for channel in other.channels:
            if (channel.channel, channel.normalized) not in known:
                into.channels.append(channel)
                known.add((channel.channel, channel.normalized))
        for name, links in other.links.items():
            mine = into.links.setdefault(name, [])
            keys = {_link_key(link) for link in mine}
            for link in links:
                if _link_key(link) not in keys:
                    mine.append(link)
        return conflicts

    def _link_entity(self, name):
        if name not in self._link_entities:
            self._link_entities[name] = self._find_link_entity(name)
        return self._link_entities[name]

    def _find_link_entity(self, name):
        relation = self.relations.get(name)
        if relation is not None:
            return registry.for_model(relation.target_model)
        field = self.fields.get(name)
        if field is not None and field.many_to_one:
            try:
                return registry.for_model(field.related_model)
            except KeyError:
                return None
        return None

    # --- display

    def _label(self, name):
        field = self.fields.get(name)
        if field is not None:
            return str(field.verbose_name)
        return name

    def _display(self, name, value):
        field = self.fields.get(name)
        if value is None:
            return ""
        if field is not None and field.many_to_one:
            pk = value.pk if hasattr(value, "pk") else value
            cache = self._display_cache.setdefault(name, {})
            if pk not in cache:
                obj = field.related_model._default_manager.filter(pk=pk).first()
                cache[pk] = str(obj) if obj is not None else str(pk)
            return cache[pk]
        if field is not None and field.choices:
            return str(dict(field.flatchoices).get(value, value))
        if isinstance(value, bool):
            return _("yes") if value else _("no")
        if isinstance(value, (list, tuple)):
            return ", ".join(map(str, value))
        return str(value)

    def _diff(self, name, old, new, action):
        return {"field": name, "old": self._display(name, old), "new": self._display(name, new), "action": action}

    def _owner_name(self, pk):
        """The login of an owner the importer may not give records to (asked once per owner: each row is screened
        twice, as the file is read and as it is decided)."""
        from django.contrib.auth import get_user_model

        cache = self._display_cache.setdefault("_owner", {})
        if pk not in cache:
            user = get_user_model().objects.filter(pk=pk).first()
            cache[pk] = user.get_username() if user else str(pk)
        return cache[pk]


class _DistinctLinks:
    """The links of a file's rows (a contact's company, a deal's company and contacts), each distinct link
    once: found, or planned for creation, for the whole file in one go (CompanyFinder.resolve), then attached
    to each row as it is read back. A file naming one company on 1,000 rows keeps and resolves it once."""

    def __init__(self, decider):
        self.decider = decider
        self.distinct = {}  # (link name, its fields) -> the first such link

    def _links(self, row):
        for name, links in row.links.items():
            if self.decider._link_entity(name) is not None:
                for link in links:  # not _link_key(): it folds case, and a created company keeps the file's
                    yield (name, tuple(sorted((k, str(v)) for k, v in link.items() if not k.startswith("_")))), link

    def add(self, row):
        for key, link in self._links(row):
            self.distinct.setdefault(key, dict(link))

    def resolve(self):
        self.decider.companies.resolve([(self.decider._link_entity(name), link)
                                        for (name, _fields), link in self.distinct.items()])

    def attach(self, row):
        for key, link in self._links(row):
            found = self.distinct[key]
            for attr in ("_found", "_messages"):
                if attr in found:
                    link[attr] = found[attr]


def row_link_messages(row):
    return [m for links in row.links.values() for link in links for m in link.get("_messages", ())]


def _item(comm):
    return {"id": comm["id"], "value": comm["value"], "kind": comm["kind"], "is_primary": comm["is_primary"]}


def _link_key(link):
    return tuple(sorted((k, str(v).casefold()) for k, v in link.items() if not k.startswith("_")))


def _copy_row(row):
    return MappedRow(row.number, dict(row.data), list(row.channels),
                     {k: [dict(link) for link in v] for k, v in row.links.items()}, dict(row.custom),
                     list(row.issues), set(row.defaulted))


class CompanyFinder:
    """Linked records described by a file (a contact's company, a deal's company and contacts): found among
    the records the importer can read (by id, tax id, phone, email, or matched like any record by name), or
    — companies only — planned for creation once per distinct company. Sets `link["_found"]` to
    {"target": id, "label"} or {"company": key, "name", "tax_id", "label"}, and `link["_messages"]`."""

    def __init__(self, user):
        self.user = user

    def resolve(self, wanted):
        from dedup.normalize import company_key
        from dedup.scoring import match_rows

        by_entity = {}
        for entity, link in wanted:
            by_entity.setdefault(entity.key, (entity, []))[1].append(link)
        for key, (entity, links) in by_entity.items():
            model = entity.model
            visible = model.objects.visible_to(self.user, READ)
            ids = {int(link["id"]) for link in links if str(link.get("id", "")).isdigit()}
            by_id = visible.in_bulk(sorted(ids)) if ids else {}
            names = {f.name for f in model._meta.get_fields()}
            taxes = {link["tax_id"] for link in links if link.get("tax_id")} if "tax_id" in names else set()
            by_tax = {}
            for obj in visible.filter(tax_id__any=sorted(taxes)) if taxes else ():
                by_tax.setdefault(obj.tax_id, obj)
            by_contact = self._by_contacts(entity, links)
            # by name: matched like any record (name without legal form, tax id), one query set per batch
            named = [link for link in links if link.get("name") and not self._direct(link, by_id, by_tax, by_contact)]
            keyed = {}
            for link in named:
                keyed.setdefault(self._key(entity, link, company_key), link)
            matched = {}
            if keyed and "name" in names:
                rows = [{"name": link["name"], "tax_id": link.get("tax_id", "")} for link in keyed.values()]
                results = match_rows(key, rows, limit=2) if registry[key].model is model else [[]] * len(rows)
                candidate_ids = {m.object_id for found in results for m in found[:1] if m.verdict.is_duplicate}
                readable = set(visible.filter(pk__any=sorted(candidate_ids)).values_list("pk", flat=True))
                exact = {}
                for obj in visible.filter(name__any=sorted({link["name"] for link in keyed.values()})):
                    exact.setdefault(obj.name.casefold(), obj)
                by_key = self._by_name_key(entity, visible, [link["name"] for link in keyed.values()], company_key)
                for (ckey, link), found in zip(keyed.items(), results, strict=True):
                    obj = exact.get(link["name"].casefold()) or by_key.get(company_key(link["name"]))
                    if obj is not None:
                        matched[ckey] = {"target": obj.pk, "label": str(obj)}
                    elif found and found[0].verdict.is_duplicate:
                        if found[0].object_id in readable:
                            obj = model.objects.get(pk=found[0].object_id)
                            matched[ckey] = {"target": obj.pk, "label": str(obj)}
                        else:
                            matched[ckey] = {"hidden": True}
            for link in links:
                found = self._direct(link, by_id, by_tax, by_contact)
                if found is not None:
                    link["_found"] = {"target": found.pk, "label": str(found)}
                    continue
                if not link.get("name"):
                    what = next((k for k in ("id", "tax_id", "phone", "email") if link.get(k)), "")
                    if what:
                        link["_messages"] = [_msg("not_found", what=str(model._meta.verbose_name),
                                                  value=link[what])]
                    continue
                result = matched.get(self._key(entity, link, company_key))
                if result is not None and result.get("hidden"):
                    link["_messages"] = [_msg("company_hidden", value=link["name"])]
                elif result is not None:
                    link["_found"] = result
                elif self._creatable(entity):
                    link["_found"] = {"company": self._key(entity, link, company_key), "entity": key,
                                      "name": link["name"][:255], "tax_id": link.get("tax_id", "")[:20],
                                      "label": link["name"][:255]}
                else:
                    link["_messages"] = [_msg("not_found", what=str(model._meta.verbose_name), value=link["name"])]

    def _by_name_key(self, entity, visible, names, company_key):
        """{name key: record} of the readable records whose name without legal form and quotes is the same
        ("Ромашка" finds "ООО «Ромашка»"), from the match-key table; the oldest record when several."""
        from django.contrib.contenttypes.models import ContentType

        from dedup.models import MatchKey

        wanted = {company_key(name) for name in names} - {""}
        if not wanted:
            return {}
        content_type = ContentType.objects.get_for_model(entity.model)
        rows = (MatchKey.objects.filter(content_type=content_type, kind="company", value__any=sorted(wanted),
                                        object_id__in=visible.values("pk"))
                .order_by("object_id").values_list("value", "object_id"))
        first = {}
        for value, object_id in rows:
            first.setdefault(value, object_id)
        objs = entity.model.objects.in_bulk(sorted(set(first.values())))
        return {value: objs[pk] for value, pk in first.items() if pk in objs}

    def _creatable(self, entity):
        """Only company-like records (a name of their own, no person name) are created from a link."""
        from access.scopes import ADD

        names = {f.name for f in entity.model._meta.get_fields()}
        return "name" in names and "last_name" not in names and scope_q(self.user, entity.model, ADD) is not None

    def _key(self, entity, link, company_key):
        return f"{entity.key}:{link.get('tax_id') or company_key(link.get('name', ''))}"

    def _direct(self, link, by_id, by_tax, by_contact):
        if str(link.get("id", "")).isdigit() and int(link["id"]) in by_id:
            return by_id[int(link["id"])]
        if link.get("tax_id") and link["tax_id"] in by_tax:
            return by_tax[link["tax_id"]]
        for attr in ("phone", "email"):
            if link.get(attr) and link[attr] in by_contact:
                return by_contact[link[attr]]
        return None

    def _by_contacts(self, entity, links):
        """{normalised phone or email: record} among the readable records having it."""
        values = {link[a] for link in links for a in ("phone", "email") if link.get(a)}
        if not values or not entity.has_channels:
            return {}
        from django.contrib.contenttypes.models import ContentType

        content_type = ContentType.objects.get_for_model(entity.model)
        visible = entity.model.objects.visible_to(self.user, READ)
        out = {}
        comms = Communication.objects.filter(content_type=content_type, normalized__any=sorted(values),
                                             object_id__in=visible.values("pk"))
        objs = visible.in_bulk(sorted({c.object_id for c in comms}))
        for comm in comms:
            if comm.object_id in objs:
                out.setdefault(comm.normalized, objs[comm.object_id])
        return out


class TargetState:
    """What the decision needs of the matched records: values, tags, phones/emails, links, versions, and which
    the importer may edit or read. A few queries for the whole set."""

    def __init__(self, user, entity, ids, tag_field, *, with_details=True):
        model = entity.model
        self.entity = entity
        q = scope_q(user, model, EDIT)
        self.editable = set() if q is None or not ids else set(
            model.objects.filter(q, pk__any=ids).values_list("pk", flat=True))
        self._user = user
        self._readable = {}
        self.tag_field = tag_field
        self.versions = history.versions(model, sorted(self.editable)) if self.editable else {}
        self.objs = model.objects.in_bulk(sorted(self.editable)) if with_details and self.editable else {}
        self.tags, self.comms, self.links = {}, {}, {}
        if not self.objs:
            return
        pks = sorted(self.objs)
        if tag_field:
            field = model._meta.get_field(tag_field)
            through = field.remote_field.through
            source, target = field.m2m_field_name(), field.m2m_reverse_field_name()
            names = dict(Tag.objects.values_list("pk", "name"))
            for pk, tag_pk in through.objects.filter(**{f"{source}_id__in": pks}).values_list(f"{source}_id",
                                                                                                 f"{target}_id"):
                self.tags.setdefault(pk, []).append(names.get(tag_pk, ""))
        if entity.has_channels:
            from django.contrib.contenttypes.models import ContentType

            content_type = ContentType.objects.get_for_model(model)
            for comm in Communication.objects.filter(content_type=content_type, object_id__any=pks).order_by(
                    "channel", "-is_primary", "position", "pk"):
                self.comms.setdefault(comm.object_id, []).append(
                    {"id": comm.pk, "channel": comm.channel, "value": comm.value, "kind": comm.kind,
                     "normalized": comm.normalized, "is_primary": comm.is_primary})
        for relation in entity.relations:
            through = relation.through_model
            visible = relation.target_model.objects.visible_to(user, READ).values("pk")
            for link in through.objects.filter(**{f"{relation.from_field}_id__in": pks,
                                                  f"{relation.to_field}__in": visible}).order_by("pk"):
                item = {"target": getattr(link, f"{relation.to_field}_id")}
                for name in relation.extra_fields:
                    item[name] = getattr(link, name)
                self.links.setdefault(getattr(link, f"{relation.from_field}_id"), {}).setdefault(
                    relation.name, []).append(item)

    def readable(self, ids):
        """Of `ids`, those the importer may read (cached: ambiguous and held rows ask for a few ids each)."""
        missing = [pk for pk in ids if pk not in self._readable]
        if missing:
            found = set(self.entity.model.objects.visible_to(self._user, READ).filter(pk__any=missing)
                        .values_list("pk", flat=True))
            self._readable.update({pk: pk in found for pk in missing})
        return {pk for pk in ids if self._readable[pk]}

    def of(self, pk):
        obj = self.objs[pk]
        values = {}
        for field in obj._meta.concrete_fields:
            values[field.name] = getattr(obj, field.attname)
        return {"values": values, "tags": list(self.tags.get(pk, [])), "channels": self.comms.get(pk, []),
                "links": self.links.get(pk, {})}

    def before(self, pk, plan):
        """The parts of the record the plan changes that history rows of the record itself don't keep."""
        before = {}
        if "tags" in plan:
            before["tags"] = list(self.tags.get(pk, []))
        if "channels" in plan:
            before["channels"] = {channel: [{"value": c["value"], "kind": c["kind"], "is_primary": c["is_primary"]}
                                            for c in self.comms.get(pk, []) if c["channel"] == channel]
                                  for channel in plan["channels"]}
        if "links" in plan:
            before["links"] = {name: self.links.get(pk, {}).get(name, []) for name in plan["links"]}
        return before


# ---------------------------------------------------------------------------
# Apply


class Cancelled(Exception):
    pass


def batch_apply(batch_id, *, user=None, chunk=CHUNK, on_chunk=None):
    """Apply the batch's decided rows: chunk by chunk, each chunk in one transaction with the rows marked
    applied; returns the batch. Safe to call again (a redelivered task, a resumed crash): applied rows are
    never applied twice. `on_chunk(batch)` is called after each committed chunk (progress, tests)."""
    with without_cycle_collector():
        return _apply(batch_id, user=user, chunk=chunk, on_chunk=on_chunk)


def _apply(batch_id, *, user, chunk, on_chunk):
    batch = ImportBatch.objects.get(pk=batch_id)
    user = user or batch.created_by
    if batch.status not in (Status.READY, Status.APPLYING):
        return batch
    if batch.all_or_nothing:
        return _apply_all_or_nothing(batch, user)
    while True:
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=batch_id)
            if batch.status not in (Status.READY, Status.APPLYING):
                return batch
            if batch.cancel_requested:
                _finish(batch, user, Status.CANCELLED)
                return batch
            if batch.status == Status.READY:
                batch.status, batch.started_at = Status.APPLYING, timezone.now()
            # (the file's values and the diff are the preview's: not decoded again for the apply)
            rows = list(batch.rows.filter(applied=False, outcome__in=WRITING).defer("raw", "diff", "before")
                        .order_by("number")[:chunk])
            if not rows:
                _finish(batch, user, Status.APPLIED)
                return batch
            linked_before = len(batch.created_links)
            _apply_rows(batch, user, rows)
            batch.done += len(rows)
            # The companies created so far only when this chunk created some: rewriting a map of thousands at
            # every chunk made a long import quadratic.
            created = ["companies", "created_links"] if len(batch.created_links) != linked_before else []
            batch.save(update_fields=["status", "started_at", "done", *created])
        if on_chunk is not None:
            on_chunk(batch)


def _apply_all_or_nothing(batch, user):
    try:
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            batch.status, batch.started_at = Status.APPLYING, timezone.now()
            rows = list(batch.rows.filter(applied=False, outcome__in=WRITING).defer("raw", "diff", "before")
                        .order_by("number"))
            failed = _apply_rows(batch, user, rows, strict=True)
            if failed:
                raise _Refused(failed)
            batch.done = len(rows)
            _finish(batch, user, Status.APPLIED)
    except _Refused as refused:
        batch = ImportBatch.objects.get(pk=batch.pk)
        number, text = refused.args[0][0]
        batch.status = Status.FAILED
        batch.error = _("Nothing was imported: row %(row)s was refused (%(reason)s).") % {"row": number,
                                                                                           "reason": text}
        batch.finished_at = timezone.now()
        batch.save(update_fields=["status", "error", "finished_at"])
    return batch


class _Refused(Exception):
    pass


def _finish(batch, user, status):
    from access.audit import audit_log
    from access.models import AuditLog

    pending = batch.rows.filter(applied=False).exclude(outcome__in=WRITING)
    if status == Status.APPLIED:
        leaders = dict(batch.rows.filter(record_id__isnull=False).values_list("number", "record_id"))
        followers = list(pending.filter(outcome=Outcome.IN_FILE))
        for row in followers:
            row.record_id = leaders.get(row.leader)
            row.applied = True
        update_rows(followers, ["record_id", "applied"])
        pending.exclude(outcome=Outcome.IN_FILE).update(applied=True)
    batch.counts = count_outcomes(batch.rows.values_list("outcome", flat=True))
    batch.status, batch.finished_at = status, timezone.now()
    batch.done = batch.rows.filter(applied=True).count()
    batch.save()
    audit_log(AuditLog.IMPORT, user=user, model=_entity(batch.entity).model, count=batch.done,
              object_repr=batch.file_name, details={"batch": batch.pk, "status": status, "counts": batch.counts,
                                                    "on_duplicate": batch.on_duplicate})


def _tag_ids(names):
    """{casefolded name: Tag pk}, creating the tags that don't exist yet (tags are a shared list)."""
    names = {name.strip()[:60] for name in names if name and name.strip()}
    if not names:
        return {}
    existing = {}
    for pk, name in Tag.objects.values_list("pk", "name"):
        existing.setdefault(name.casefold(), pk)
    missing = {name.casefold(): name for name in names if name.casefold() not in existing}
    if missing:
        Tag.objects.bulk_create([Tag(name=name) for name in missing.values()], ignore_conflicts=True)
        for pk, name in Tag.objects.filter(name__in=list(missing.values())).values_list("pk", "name"):
            existing.setdefault(name.casefold(), pk)
    return existing


def _ensure_companies(batch, user, rows):
    """Create, once per batch, the linked records the rows plan to create; returns {key: id}."""
    from crm_site import services

    wanted = {}
    for row in rows:
        for item in [i for links in (row.plan.get("links") or {}).values() for i in links] + list(
                (row.plan.get("fks") or {}).values()):
            if item.get("company") and item.get("target") is None and item["company"] not in batch.companies:
                wanted.setdefault(item["company"], item)
    by_entity = {}
    for key, item in wanted.items():
        by_entity.setdefault(item.get("entity", "company"), []).append((key, item))
    for entity_key, items in by_entity.items():
        entity = registry[entity_key]
        has_tax = "tax_id" in {f.name for f in entity.model._meta.get_fields()}
        inputs = [RecordInput(data={"name": item["name"], **({"tax_id": item["tax_id"]} if has_tax and
                                                            item.get("tax_id") else {})}) for _key, item in items]
        result = services.records_create_bulk(user=user, entity=entity, rows=inputs,
                                              reason=f"import #{batch.pk}")
        created = [obj for obj in result.objs if obj is not None]
        versions = history.versions(entity.model, [obj.pk for obj in created])
        for (key, _item), obj in zip(items, result.objs, strict=True):
            if obj is not None:
                batch.companies[key] = obj.pk
                batch.created_links.append([entity_key, obj.pk, versions.get(obj.pk, 0)])
        if created:
            events.record_events(events.IMPORTED, objs=created, user=user, data={"batch": batch.pk})
    return batch.companies


def _link_inputs(plan, companies):
    links = []
    for name, items in (plan.get("links") or {}).items():
        if not items:
            links.append({"relation": name, "_empty": True})
        for item in items:
            target = item.get("target") or companies.get(item.get("company"))
            if target is None:
                continue
            links.append({"relation": name, "target": target,
                          **{k: v for k, v in item.items() if k not in ("target", "company", "label", "entity",
                                                                     "name", "tax_id")}})
    return links if plan.get("links") else None


def _data_input(plan, tag_field, tag_ids, companies):
    data = dict(plan.get("data") or {})
    if tag_field and "tags" in plan:
        data[tag_field] = [tag_ids[t.strip()[:60].casefold()] for t in plan["tags"]
                           if t.strip()[:60].casefold() in tag_ids]
    for name, item in (plan.get("fks") or {}).items():
        target = item.get("target") or companies.get(item.get("company"))
        if target is not None:
            data[name] = target
    return data


def _system(plan):
    """Custom field values go past the field rules as the record's `custom_fields` (their targets parsed and
    checked them: dedup.importing.targets.register_target_provider)."""
    return {"custom_fields": plan["custom"]} if "custom" in plan else None


def _apply_rows(batch, user, rows, strict=False):
    """Write one chunk; returns [(row number, message)] of the rows refused (strict: stop at the first)."""
    from crm_site import services

    entity = _entity(batch.entity)
    model = entity.model
    tag_field = next((f.name for f in model._meta.many_to_many if f.related_model is Tag), None)
    tag_ids = _tag_ids([t for row in rows for t in row.plan.get("tags") or ()])
    companies = _ensure_companies(batch, user, rows)
    reason = f"import #{batch.pk}"
    refused = []
    creates = [row for row in rows if row.outcome == Outcome.CREATE]
    updates = [row for row in rows if row.outcome in (Outcome.MERGE, Outcome.REPLACE)]
    written = []
    if creates:
        inputs = [RecordInput(data=_data_input(row.plan, tag_field, tag_ids, companies),
                              channels=row.plan.get("channels") or None,
                              links=_link_inputs(row.plan, companies), system=_system(row.plan)) for row in creates]
        result = services.records_create_bulk(user=user, entity=entity, rows=inputs, reason=reason,
                                              event_data={"import_batch": batch.pk})
        for index, (row, obj) in enumerate(zip(creates, result.objs, strict=True)):
            if obj is None:
                _refuse(row, result.errors.get(index), refused)
            else:
                row.record_id = obj.pk
                written.append(obj)
    if updates:
        inputs = [RecordInput(obj=model(pk=row.target_id), data=_data_input(row.plan, tag_field, tag_ids, companies),
                              channels=row.plan.get("channels") or None, links=_link_inputs(row.plan, companies),
                              system=_system(row.plan), version=row.version) for row in updates]
        result = services.records_update_bulk(user=user, rows=inputs, reason=reason,
                                              event_data={"import_batch": batch.pk})
        for index, (row, obj) in enumerate(zip(updates, result.objs, strict=True)):
            if obj is None:
                _refuse(row, result.errors.get(index), refused)
            else:
                row.record_id = obj.pk
                written.append(obj)
    if strict and refused:
        return refused
    if written:
        events.record_events(events.IMPORTED, objs=written, user=user, data={"batch": batch.pk})
        versions = history.versions(model, [obj.pk for obj in written])
        for row in rows:
            if row.record_id is not None:
                row.applied_version = versions.get(row.record_id)
    for row in rows:
        row.applied = True
    update_rows(rows, ["applied", "record_id", "applied_version", "outcome", "messages"])
    return refused


def update_rows(rows, names):
    """Save `names` of many ImportRows: on PostgreSQL one UPDATE ... FROM jsonb_to_recordset (bulk_update's CASE
    per row and field costs seconds for a thousand rows), elsewhere bulk_update."""
    import json

    from django.db import connection

    if not rows:
        return
    if connection.vendor != "postgresql":
        ImportRow.objects.bulk_update(rows, names, batch_size=1000)
        return
    fields = [ImportRow._meta.get_field(name) for name in names]
    quote = connection.ops.quote_name
    types = ", ".join(f"{quote(f.column)} {f.db_type(connection)}" for f in fields)
    sets = ", ".join(f"{quote(f.column)} = v.{quote(f.column)}" for f in fields)
    table = quote(ImportRow._meta.db_table)
    payload = json.dumps([{"id": row.pk, **{f.column: getattr(row, f.attname) for f in fields}} for row in rows],
                         default=str, ensure_ascii=False)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} t SET {sets} FROM jsonb_to_recordset(%s::jsonb) AS v(id bigint, {types}) "
                       f"WHERE t.id = v.id", [payload])


def _refuse(row, error, refused):
    from crm_site.record_writes import VersionConflict

    if isinstance(error, VersionConflict):
        message = _msg("changed_since", ERROR)
    elif isinstance(error, ValidationError):
        texts = []
        if hasattr(error, "error_dict"):
            for field, items in error.message_dict.items():
                texts += [f"{field}: {text}" if field != "__all__" else text for text in items]
        else:
            texts = error.messages
        message = _msg("write", ERROR, text="; ".join(texts))
    else:
        message = _msg("write", ERROR, text=str(error) if error else _("refused"))
    row.outcome = Outcome.ERROR
    row.messages = list(row.messages) + [message]
    refused.append((row.number, message_text(message)))


def batch_cancel(batch):
    """Ask a running apply to stop at the next chunk boundary (everything before it stays applied)."""
    ImportBatch.objects.filter(pk=batch.pk, status__in=[Status.READY, Status.APPLYING]).update(cancel_requested=True)
    updated = ImportBatch.objects.filter(pk=batch.pk, status=Status.READY, cancel_requested=True).update(
        status=Status.CANCELLED, finished_at=timezone.now())
    batch.refresh_from_db()
    return bool(updated) or batch.cancel_requested


def batch_progress(batch):
    """{done, total, percent, rate (rows/s), left (s)} of an apply."""
    total = batch.rows.filter(outcome__in=WRITING).count() if batch.status == Status.APPLYING else batch.total
    done = batch.rows.filter(outcome__in=WRITING, applied=True).count() if batch.status == Status.APPLYING \
        else batch.done
    rate = left = None
    if batch.started_at and done:
        elapsed = max((timezone.now() - batch.started_at).total_seconds(), 0.001)
        rate = done / elapsed
        left = max(total - done, 0) / rate if rate else None
    percent = 100 if not total else int(done * 100 / total)
    if batch.status in (Status.APPLIED, Status.UNDONE):
        percent = 100
    return {"done": done, "total": total, "percent": percent, "rate": rate, "left": left,
            "status": batch.status}


# ---------------------------------------------------------------------------
# Undo


def batch_undo(batch, *, user):
    """Undo an applied (or cancelled) batch: records it created go to the bin, records it merged or replaced
    get their values from before the import back (from their history); a record changed after the import is
    left as it is and reported. Returns {"binned", "restored", "kept": [row numbers], "companies"}."""
    from crm_site import services
    from trash.services import records_delete

    entity = _entity(batch.entity)
    check_import_right(user, entity)
    model = entity.model
    report = {"binned": 0, "restored": 0, "kept": [], "companies": 0}
    with transaction.atomic():
        batch = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        if batch.status not in (Status.APPLIED, Status.CANCELLED):
            raise ValidationError(_("Only an import that was applied can be undone."))
        rows = list(batch.rows.filter(applied=True, undone=False, outcome__in=WRITING, record_id__isnull=False))
        versions = history.versions(model, [row.record_id for row in rows])
        created = [row for row in rows if row.outcome == Outcome.CREATE]
        updated = [row for row in rows if row.outcome != Outcome.CREATE]
        unchanged_created = []
        for row in created:
            if versions.get(row.record_id) == row.applied_version:
                unchanged_created.append(row)
            else:
                report["kept"].append(row.number)
        objs = model.objects.in_bulk([row.record_id for row in unchanged_created])
        result = records_delete(user=user, objs=list(objs.values()))
        moved = {obj.pk for obj in result.moved}
        for row in unchanged_created:
            if row.record_id in moved:
                row.undone = True
                report["binned"] += 1
            else:
                report["kept"].append(row.number)
        inputs, undo_rows = [], []
        history_model = history.history_model(model)
        for row in updated:
            if versions.get(row.record_id) != row.applied_version:
                report["kept"].append(row.number)
                continue
            previous = (history_model.objects.filter(id=row.record_id, history_id__lt=row.applied_version)
                        .order_by("-history_id").first())
            if previous is None:
                report["kept"].append(row.number)
                continue
            data = {}
            for name in (row.plan.get("data") or {}):
                field = model._meta.get_field(name)
                data[name] = getattr(previous, field.attname)
            for name in (row.plan.get("fks") or {}):
                data[name] = getattr(previous, model._meta.get_field(name).attname)
            before = row.plan.get("before") or {}
            tag_field = next((f.name for f in model._meta.many_to_many if f.related_model is Tag), None)
            if "tags" in before and tag_field:
                ids = _tag_ids(before["tags"])
                data[tag_field] = [ids[t.casefold()] for t in before["tags"] if t.casefold() in ids]
            links = None
            if "links" in before:
                links = []
                for name, items in before["links"].items():
                    if not items:
                        links.append({"relation": name, "_empty": True})
                    links += [{"relation": name, **item} for item in items]
            system = {"custom_fields": previous.custom_fields} if "custom" in row.plan else None
            inputs.append(RecordInput(obj=model(pk=row.record_id), data=data, channels=before.get("channels"),
                                      links=links, system=system, version=row.applied_version))
            undo_rows.append(row)
        if inputs:
            result = services.records_update_bulk(user=user, rows=inputs, reason=f"import #{batch.pk} undone")
            for index, row in enumerate(undo_rows):
                if result.objs[index] is None:
                    report["kept"].append(row.number)
                else:
                    row.undone = True
                    report["restored"] += 1
        update_rows(created + updated, ["undone"])
        # the companies the batch created, unless changed since
        for entity_key, pk, version in batch.created_links:
            other = registry[entity_key].model
            if history.versions(other, [pk]).get(pk) == version:
                obj = other.objects.filter(pk=pk).first()
                if obj is not None and records_delete(user=user, objs=[obj]).moved:
                    report["companies"] += 1
        report["kept"] = sorted(report["kept"])
        batch.status, batch.undo_report = Status.UNDONE, report
        batch.save(update_fields=["status", "undo_report"])
        from access.audit import audit_log
        from access.models import AuditLog

        audit_log(AuditLog.IMPORT, user=user, model=model, count=report["binned"] + report["restored"],
                  object_repr=batch.file_name, details={"batch": batch.pk, "undo": report})
    return report


# ---------------------------------------------------------------------------
# Rows already mapped (the REST API's bulk upsert)


def import_rows(user, entity, rows, *, on_duplicate="merge", match=(), dry_run=False, all_or_nothing=False,
                owner=None, name="api"):
    """Import already-mapped rows through the same engine: each row a dict
    {"data": {field: value}, "phones": [str or {"value", "kind"}], "emails": [...], "tags": [names],
     "links": {"companies": [{"name", "tax_id", "id"}], ...}}.
    Returns (batch, [{"index", "outcome", "id", "target_id", "diff", "messages"}]) — per item, in order.
    `dry_run`: decided, nothing written (the batch stays READY)."""
    entity = _entity(entity)
    check_import_right(user, entity)
    mapped = [_mapped_from_dict(index + 1, item, owner or user.pk) for index, item in enumerate(rows)]
    batch = ImportBatch.objects.create(entity=entity.key, created_by=user, file_name=name[:255],
                                       on_duplicate=on_duplicate, match=list(match), all_or_nothing=all_or_nothing)
    kinds = {}
    for row in mapped:
        for channel in row.channels:
            kinds.setdefault(channel.channel, set()).add(channel.kind)
    decided = Decider(user, entity, on_duplicate=on_duplicate, match=match, replace_kinds=kinds).decide(mapped)
    with transaction.atomic():
        insert_rows(batch, [dict(fields, number=row.number, raw=[]) for row, fields in
                            zip(mapped, decided, strict=True)])
        batch.total, batch.counts, batch.status = len(decided), count_outcomes(d["outcome"] for d in decided), \
            Status.READY
        batch.save()
    if not dry_run:
        batch = batch_apply(batch.pk, user=user)
    report = []
    for row in batch.rows.order_by("number"):
        report.append({"index": row.number - 1, "outcome": row.outcome, "id": row.record_id,
                       "target_id": row.target_id, "diff": row.diff,
                       "messages": [message_text(m) for m in row.messages]})
    return batch, report


def _mapped_from_dict(number, item, owner):
    data = dict(item.get("data") or {})
    row = MappedRow(number, data, [], {}, dict(item.get("custom") or {}), [], set())
    if "owner" not in data:
        data["owner"] = owner
        row.defaulted.add("owner")
    if item.get("tags"):
        data["tags"] = list(item["tags"])
    for channel, key in (("phone", "phones"), ("email", "emails")):
        for value in item.get(key) or ():
            value, kind = (value.get("value", ""), value.get("kind") or "work") if isinstance(value, dict) else (
                value, "work")
            if value and str(value).strip():
                normalized = Communication.normalize_value(channel, str(value))
                if all(c.normalized != normalized for c in row.channels):
                    row.channels.append(Channel(channel, kind, str(value).strip(), normalized))
    for name, links in (item.get("links") or {}).items():
        row.links[name] = []
        for link in links:
            link = dict(link)
            for attr, channel in (("phone", "phone"), ("email", "email")):
                if link.get(attr):
                    link[attr] = Communication.normalize_value(channel, str(link[attr]))
            row.links[name].append(link)
    return row



# ---------------------------------------------------------------------------
# The per-row report


def report_rows(batch):
    """[(row, outcome label, record id, matched id, messages, changes)] of every row, in file order."""
    labels = dict(Outcome.choices)
    for row in batch.rows.order_by("number").iterator(chunk_size=2000):
        changes = "; ".join(f"{d['field']}: {d.get('old', '')} → {d.get('new', '')} ({d['action']})" for d in row.diff)
        shown_target = row.target_id if row.outcome not in (Outcome.CANNOT_EDIT, Outcome.AMBIGUOUS, Outcome.POSSIBLE) else ""
        yield (row.number, str(labels.get(row.outcome, row.outcome)), row.record_id or "", shown_target or "",
               " | ".join(message_text(m) for m in row.messages), changes)


def write_report_csv(batch, stream):
    """The report as CSV (UTF-8 with BOM, so Excel opens it) into a text stream; formulas are defused."""
    import csv

    writer = csv.writer(stream)
    writer.writerow([_("Row"), _("Outcome"), _("Record"), _("Matched record"), _("Messages"), _("Changes")])
    for values in report_rows(batch):
        writer.writerow([_defuse(value) for value in values])


def _defuse(value):
    text = str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not text.lstrip("+-").isdigit() else text


def batch_discard(batch):
    """Forget a batch that never got further than its upload (the file could not be read)."""
    if batch.file:
        default_storage.delete(batch.file)
    batch.delete()
