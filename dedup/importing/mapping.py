"""Column mapping: which column goes into which target, guessed from the headers and editable by the user.

    mapping = auto_map(parsed.headers, "contact", file_format=parsed.format)
    mapping.columns[3].target = "channel:phone:mobile"      # the user's correction
    data = mapping.as_json()                                # saved with the import, or by name (ImportMapping)
    mapping = Mapping.from_json(data, parsed.headers)       # the same mapping on a file with moved columns

How a header is recognised, first match wins:
1. the vCard reader's own columns (exact);
2. Google's numbered columns ("Phone 1 - Value" takes its kind from "Phone 1 - Label" in the same row);
3. the entity's own field names and labels in English, Russian and Ukrainian (what our export writes), and
   custom field labels;
4. the researched dictionaries of headers.py, through `resolve_concept`.
"""

from dataclasses import asdict, dataclass, field

from django.utils import translation
from django.utils.text import capfirst

from crm_site.registry import registry

from . import headers as dictionaries
from .headers import header_key
from .targets import mapping_targets, value_type

# concept -> the targets it may mean, in order: the first one the entity has is taken.
CONCEPT_TARGETS = {
    "company": ["link:companies", "link:company", "field:company_name", "field:name"],
    "contact": ["link:contacts", "special:full_name"],
    "title": ["field:title", "field:name"],
    "amount": ["field:amount", "field:expected_amount"],
    "currency": ["field:currency", "field:revenue_currency"],
    "website": ["field:website", "channel:web:website"],
    "tax_id": ["field:tax_id", "link:companies.tax_id", "link:company.tax_id"],
    "full_name": ["special:full_name"],
    "legal_address": ["field:legal_address", "field:address"],
}
# Concepts of channels fall back to the contacts linked to an entity without channels of its own (a deal).
CHANNEL_FALLBACK = {"phone": "link:contacts.phone", "email": "link:contacts.email"}
LANGUAGES = ("en", "ru", "uk")


@dataclass
class ColumnMap:
    index: int
    header: str
    target: str = ""  # a Target key; "" = not imported
    kind_column: int | None = None  # a column whose value in the same row gives this channel's kind
    group: str = ""  # columns building one field together: a row takes the first group with a value


@dataclass
class Mapping:
    entity: str
    columns: list = field(default_factory=list)

    def as_json(self):
        occurrences = {}
        columns = []
        for column in self.columns:
            occurrence = occurrences.get(column.header, 0)
            occurrences[column.header] = occurrence + 1
            data = asdict(column)
            data["occurrence"] = occurrence
            if column.kind_column is not None:
                data["kind_header"] = self.columns[column.kind_column].header
            columns.append(data)
        return {"entity": self.entity, "columns": columns}

    @classmethod
    def from_json(cls, data, headers=None):
        """The saved mapping applied to a file's `headers`: columns are found by header (and which occurrence of
        it), so a file whose columns moved maps the same; a header the file lacks is dropped, a new header stays
        unmapped."""
        columns = data.get("columns", [])
        if headers is None:
            return cls(entity=data["entity"], columns=[
                ColumnMap(index=c["index"], header=c["header"], target=c.get("target", ""),
                          kind_column=c.get("kind_column"), group=c.get("group", "")) for c in columns])
        positions = {}
        for index, header in enumerate(headers):
            positions.setdefault(header_key(header), []).append(index)
        mapping = cls(entity=data["entity"], columns=[ColumnMap(index=i, header=h) for i, h in enumerate(headers)])
        for saved in columns:
            found = positions.get(header_key(saved["header"]), [])
            occurrence = saved.get("occurrence", 0)
            if occurrence >= len(found):
                continue
            column = mapping.columns[found[occurrence]]
            column.target = saved.get("target", "")
            column.group = saved.get("group", "")
            if saved.get("kind_header"):
                kind_positions = positions.get(header_key(saved["kind_header"]), [])
                column.kind_column = kind_positions[0] if kind_positions else None
        return mapping

    def mapped(self):
        return [column for column in self.columns if column.target]

    def target_keys(self):
        return {column.target for column in self.columns if column.target}


# ---------------------------------------------------------------------------
# Automatic mapping


def auto_map(headers, entity, *, file_format=None):
    entity = registry[entity] if isinstance(entity, str) else entity
    targets = {target.key: target for target in mapping_targets(entity)}
    own_labels = _own_labels(targets.values())
    columns = [ColumnMap(index=index, header=header) for index, header in enumerate(headers)]
    google = _google_columns(headers)
    for column in columns:
        if column.index in google:
            concept, kind_column = google[column.index]
            column.target, column.group = _resolve(concept, targets, entity)
            column.kind_column = kind_column if column.target.startswith("channel:") else None
            continue
        if file_format == "vcard" and column.header in dictionaries.VCARD_HEADERS:
            column.target, column.group = _resolve(dictionaries.VCARD_HEADERS[column.header], targets, entity)
            continue
        key = header_key(column.header)
        if key in own_labels:
            column.target = own_labels[key]
            continue
        concept = dictionaries.HEADER_CONCEPTS.get(key)
        if concept:
            column.target, column.group = _resolve(concept, targets, entity)
    _one_column_per_single_field(columns, targets)
    return Mapping(entity=entity.key, columns=columns)


def resolve_concept(concept, entity):
    """The target key a concept means for `entity` ("" when it has none)."""
    entity = registry[entity] if isinstance(entity, str) else entity
    targets = {target.key: target for target in mapping_targets(entity)}
    return _resolve(concept, targets, entity)[0]


def _resolve(concept, targets, entity):
    concept, _, group = concept.partition("@")
    if ":" in concept:
        channel, kind = concept.split(":", 1)
        key = f"channel:{channel}:{kind}"
        if key in targets:
            return key, ""
        fallback = CHANNEL_FALLBACK.get(channel)
        return (fallback if fallback in targets else ""), ""
    for key in CONCEPT_TARGETS.get(concept, [f"field:{concept}"]):
        if key in targets:
            return key, group
    return "", ""


def _own_labels(targets):
    """header key -> target key, for the entity's own field names and labels in every interface language."""
    labels = {}
    for target in targets:
        if target.kind not in ("field", "custom", "link") or "." in target.key:
            continue
        for name in target.labels:
            labels.setdefault(header_key(name), target.key)
        for language in LANGUAGES:
            with translation.override(language):
                labels.setdefault(header_key(capfirst(str(target.label))), target.key)
    # Our own export's channel columns ("Phones", "Телефоны"): values joined by "; ", kinds not kept.
    from crm_site.forms import CHANNEL_LABELS
    from crm_site.models import Communication

    for channel, label in CHANNEL_LABELS.items():
        key = f"channel:{channel}:{Communication.KINDS_BY_CHANNEL[channel][0]}"
        if any(target.key == key for target in targets):
            for language in LANGUAGES:
                with translation.override(language):
                    labels.setdefault(header_key(str(label)), key)
    return labels


def _google_columns(headers):
    """index -> (concept, kind column index) for Google's numbered columns."""
    numbered = {}
    for index, header in enumerate(headers):
        match = dictionaries.GOOGLE_NUMBERED.match(str(header).strip())
        if match:
            section = match["section"].lower().replace("organisation", "organization")
            numbered[(section, match["number"], match["part"].strip().lower())] = index
    result = {}
    for (section, number, part), index in numbered.items():
        channel = dictionaries.GOOGLE_SECTIONS.get(section)
        if channel and part == "value":
            kind_column = numbered.get((section, number, "label"), numbered.get((section, number, "type")))
            if channel == "messenger":
                kind_column = numbered.get((section, number, "service"), kind_column)
            default_kind = {"phone": "work", "email": "work", "web": "website", "messenger": "other"}[channel]
            result[index] = (f"{channel}:{default_kind}", kind_column)
        elif section == "address":
            has_formatted = (section, number, "formatted") in numbered
            if part == "formatted" or (not has_formatted and part in dictionaries.GOOGLE_ADDRESS_PARTS):
                result[index] = (f"address@address{number}", None)
        elif section == "organization" and part in ("name", "title"):
            result[index] = ("company" if part == "name" else "position", None)
        if index not in result:
            result[index] = ("", None)  # labels, types, and sections we don't import
    return result


def _one_column_per_single_field(columns, targets):
    """A single-valued field mapped by several columns keeps them all only when they can be joined (text);
    otherwise the first one wins and the others are left unmapped for the user to decide."""
    seen = set()
    for column in columns:
        target = targets.get(column.target)
        if target is None or target.multi or target.kind in ("channel", "special"):
            continue
        if target.kind == "field" and value_type(target) == "text":
            continue
        if column.target in seen:
            column.target, column.group = "", ""
        seen.add(column.target)
