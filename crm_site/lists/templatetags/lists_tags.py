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


@register.simple_tag(takes_context=True)
def list_rows(context, rows, bulk_actions):
    """The list's table rows (generic/list_table.html), written out here: the same markup the template loop
    gave (tests/test_lists_rows.py renders both), at a small part of its cost — a page of 25 rows with 7
    columns ran some 40 template nodes per cell. Values go through the template engine's own
    `render_value_in_context` (localisation, escaping), so they read exactly as `{{ value }}` did."""
    from django.template.base import render_value_in_context
    from django.utils.safestring import mark_safe
    from django.utils.translation import gettext

    def show(value):
        if callable(value) and not getattr(value, "do_not_call_in_templates", False):
            value = value()
        return render_value_in_context(value, context)

    select = show(gettext("Select")) if bulk_actions else ""
    out = []
    for row in rows:
        obj = row["object"]
        out.append("\n        <tr>\n          ")
        if bulk_actions:
            out.append(f'<td class="select-col"><input type="checkbox" name="ids" value="{show(obj.pk)}" '
                       f'form="bulk-form" aria-label="{select} {show(obj)}"></td>')
        out.append("\n          ")
        for index, cell in enumerate(row["cells"]):
            value = cell.get("value", "")
            if index == 0:
                shown = show(value or obj)
                out.append(f'\n          <td class="cell-main" title="{shown}">\n            '
                           f'\n              <a class="row-link" href="{show(obj.get_absolute_url())}">{shown}</a>'
                           f'\n            \n          </td>\n          ')
                continue
            shown = show(value)
            out.append(f'\n          <td title="{shown}">\n            ')
            if cell.get("href"):
                out.append(f'\n              <a href="{show(cell["href"])}">{shown}</a>\n            ')
            elif cell.get("link"):
                out.append(f'\n              <a href="{show(cell["link"])}">{shown}</a>\n            ')
            else:
                out.append(f"\n              {shown}\n            ")
            out.append("\n          </td>\n          ")
        out.append("\n        </tr>\n        ")
    return mark_safe("".join(out))
