"""SQLite for the demo, with LIKE that folds the case of every letter.

SQLite's own LIKE folds ASCII letters only, so on SQLite a search for "иванов" would not find "Иванов" (the
quick search, the filters' "contains" and "equals" are LIKE there). Each new SQLite connection gets a like()
comparing case-folded text instead (a Python function: slower than SQLite's, which the demo's size allows);
`CrmSiteConfig.ready` connects `use_unicode_like` to Django's `connection_created`. PostgreSQL, the CRM's
own database, is not concerned.
"""

import re
from functools import lru_cache


@lru_cache(maxsize=512)
def _pattern(pattern, escape):
    """A LIKE pattern as a compiled, case-folded regular expression (% any run, _ one character)."""
    parts, chars, index = [], pattern.casefold(), 0
    while index < len(chars):
        char = chars[index]
        if escape and char == escape and index + 1 < len(chars):
            parts.append(re.escape(chars[index + 1]))
            index += 2
            continue
        parts.append(".*" if char == "%" else "." if char == "_" else re.escape(char))
        index += 1
    return re.compile("".join(parts), re.DOTALL)


def like(pattern, value, escape=None):
    """SQLite's like(X, Y[, Z]): whether Y matches the pattern X (escape character Z), case-folded."""
    if pattern is None or value is None:
        return None
    return _pattern(str(pattern), escape).fullmatch(str(value).casefold()) is not None


def use_unicode_like(sender, connection, **kwargs):
    if connection.vendor == "sqlite":
        connection.connection.create_function("like", 2, like, deterministic=True)
        connection.connection.create_function("like", 3, like, deterministic=True)
