"""One reader per format. Each opens a seekable binary stream and offers:

- `headers`: the column labels (the first non-empty row; for vCard a fixed set of property columns);
- `records()`: an iterator of `(row_number, values, issues)` for the data rows, streaming: the file is never
  read into a list, so memory stays flat whatever its size.

`dedup.importing.parsed.ParsedFile` wraps them (row limit, empty rows) and is what callers use.
"""
