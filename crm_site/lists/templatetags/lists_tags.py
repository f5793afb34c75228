"""Template helpers of the lists and of every screen that names a person."""

from django import template
from django.http import QueryDict

register = template.Library()


@register.filter
def initials(user):
    """A person's initials for an avatar ("ДВ" for Дмитрий Волков); the login's first letter without a name."""
    if user is None:
        return ""
    first = (getattr(user, "first_name", "") or "").strip()
    last = (getattr(user, "last_name", "") or "").strip()
    letters = (first[:1] + last[:1]) or (str(user.get_username())[:1] if hasattr(user, "get_username") else "")
    return letters.upper()


@register.filter
def person(user):
    """A user as people call them: the full name, the login only when no name was given."""
    if user is None:
        return ""
    return (user.get_full_name() or "").strip() or user.get_username()


@register.simple_tag
def with_param(querystring, name, value, *drop):
    """`querystring` with `name` set to `value` (and the names in `drop` left out)."""
    query = QueryDict(querystring, mutable=True)
    for key in drop:
        query.pop(key, None)
    query[name] = value
    return query.urlencode()
