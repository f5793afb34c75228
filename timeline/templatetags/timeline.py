"""Rendering helpers of the timeline: safe links in user text, field labels of stored diffs."""

import re

from django import template
from django.apps import apps
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

register = template.Library()

# Only http(s) URLs become links; quotes and angle brackets end a URL, so an attribute can never be broken.
URL_RE = re.compile(r"\bhttps?://[^\s<>\"'`]+", re.IGNORECASE)
TRAILING = ".,;:!?)]}"


@register.filter
def linkify(text):
    """Escape `text`, turn http/https URLs into links (rel="noopener noreferrer nofollow"), keep line breaks.

    Written out rather than django's urlize: urlize also links bare domains and emails (mailto:), and
    adds only rel="nofollow"; here every piece is escaped separately and nothing but http(s) is linked.
    """
    text = str(text or "")
    parts, position = [], 0
    for match in URL_RE.finditer(text):
        url = match.group(0).rstrip(TRAILING)
        if len(url) <= len("https://"):
            continue
        parts.append(escape(text[position:match.start()]))
        parts.append(format_html('<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>', url, url))
        position = match.start() + len(url)
    parts.append(escape(text[position:]))
    return mark_safe("".join(parts).replace("\n", "<br>"))  # every part above is escaped


@register.simple_tag
def field_label(model_label, name):
    """The verbose name of a field of a stored diff (model given as "app.model"); a custom field by its label."""
    from crm_site.customfields import is_custom

    if is_custom(name):
        from crm_site.display import field_label as label_of

        try:
            return label_of(apps.get_model(model_label), name)
        except (LookupError, ValueError, TypeError, KeyError):
            return name
    try:
        return apps.get_model(model_label)._meta.get_field(name).verbose_name
    except (LookupError, ValueError, TypeError):
        return name
