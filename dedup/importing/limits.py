"""Import limits, all settings (crm_site/settings.py documents the first two):

- CRM_IMPORT_MAX_FILE_SIZE  bytes, default 50 MB
- CRM_IMPORT_MAX_ROWS       data rows (or vCards), default 1,000,000
- CRM_IMPORT_XLSX_MAX_ENTRIES       parts in an XLSX zip, default 10,000
- CRM_IMPORT_XLSX_MAX_UNCOMPRESSED  bytes an XLSX may unpack to, default 2 GB
- CRM_IMPORT_XLSX_MAX_RATIO         largest unpacked/packed ratio of one part over 1 MB, default 200

The zip checks read only the archive's central directory (declared sizes; Python's zipfile never unpacks more
than an entry declares, and fails on a CRC mismatch), so a zip bomb is refused before any XML is parsed.
"""

import os
import zipfile

from django.conf import settings

from .errors import EmptyFile, FileTooLarge, TooManyRows, UnsafeFile

MB = 1024 * 1024


def max_file_size():
    return int(getattr(settings, "CRM_IMPORT_MAX_FILE_SIZE", 50 * MB))


def max_rows():
    return int(getattr(settings, "CRM_IMPORT_MAX_ROWS", 1_000_000))


def xlsx_max_entries():
    return int(getattr(settings, "CRM_IMPORT_XLSX_MAX_ENTRIES", 10_000))


def xlsx_max_uncompressed():
    return int(getattr(settings, "CRM_IMPORT_XLSX_MAX_UNCOMPRESSED", 2048 * MB))


def xlsx_max_ratio():
    return int(getattr(settings, "CRM_IMPORT_XLSX_MAX_RATIO", 200))


def file_size(stream):
    """Size in bytes of a seekable binary stream (a Django File knows its own)."""
    size = getattr(stream, "size", None)
    if isinstance(size, int):
        return size
    position = stream.tell()
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(position)
    return size


def check_file_size(size):
    if size == 0:
        raise EmptyFile()
    limit = max_file_size()
    if size > limit:
        raise FileTooLarge(size=size, limit=limit)


def check_row_count(count):
    """Called with the number of data rows read so far: more than the limit stops the import."""
    limit = max_rows()
    if count > limit:
        raise TooManyRows(limit=limit)


def check_zip(archive: zipfile.ZipFile):
    """Entry count, total unpacked size and per-part packing ratio, from the central directory."""
    entries = archive.infolist()
    if len(entries) > xlsx_max_entries():
        raise UnsafeFile("zip_entries", count=len(entries), limit=xlsx_max_entries())
    total = 0
    ratio = xlsx_max_ratio()
    for entry in entries:
        total += entry.file_size
        if entry.file_size > MB and entry.file_size > ratio * max(entry.compress_size, 1):
            raise UnsafeFile("zip_ratio", entry=entry.filename[:100])
    if total > xlsx_max_uncompressed():
        raise UnsafeFile("zip_size", limit=xlsx_max_uncompressed())
