"""The import pipeline, phase A: an uploaded file -> checked, streamed, typed and mapped rows. Nothing here
writes records; phase B stages these rows, matches them against the base and applies them.

    from dedup.importing import open_import_file, auto_map, RowMapper, guess_file_locale, ImportDefaults

    with open_import_file(stream, name="clients.csv") as parsed:        # raises ImportFileError (.message)
        mapping = auto_map(parsed.headers, "contact", file_format=parsed.format)
        locale = guess_file_locale(parsed, mapping)
        mapper = RowMapper("contact", mapping, locale=locale, defaults=ImportDefaults(owner=user.pk))
        for row in mapper.rows(parsed):                                 # MappedRow, streamed
            ...

Modules: detection (format, encoding, delimiter), readers/ (csv, xlsx, vcard), parsed (ParsedFile), limits,
headers (the researched header dictionaries), targets (what a column can go into, from the registry), mapping
(auto_map, Mapping), values (typed parsers, phones), names (full name splitting), lookups (lists and users),
rows (RowMapper, MappedRow, ImportDefaults), errors (ImportFileError, RowIssue), models/services (saved
mappings).
"""

from .errors import ImportFileError, RowIssue  # noqa: F401
from .mapping import ColumnMap, Mapping, auto_map, resolve_concept  # noqa: F401
from .parsed import ParsedFile, RawRow, open_import_file  # noqa: F401
from .rows import Channel, ImportDefaults, MappedRow, RowMapper, guess_file_locale, row_match_keys  # noqa: F401
from .targets import Target, mapping_targets, register_target_provider  # noqa: F401
from .values import ValueLocale  # noqa: F401
