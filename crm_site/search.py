"""Quick search (?q=): names, phones in any format, emails; one implementation for every entity."""

import re

from django.contrib.contenttypes.models import ContentType
from django.db.models import Q

from .models import Communication
from .normalize import normalize_email, normalize_phone, phone_digits
from .validation import clean_text, search_too_long

MIN_PHONE_DIGITS = 5


def search_queryset(queryset, query, hidden=()):
    """Records matching `query`. Fields in `hidden` (the user's field rules) are not searched, so a search
    cannot reveal a value the user may not see ("phone" and "email" name the channels)."""
    query = clean_text(query or "").strip()
    if not query:
        return queryset
    if search_too_long(query):  # the screens say so (validation.search_too_long_message)
        return queryset.none()
    model = queryset.model
    entity = model.entity()
    condition = Q()
    fields = [name for name in entity.search_fields if name.split("__")[0] not in hidden]
    for word in query.split()[:6]:
        word_q = Q(pk__in=[])
        for field_name in fields:
            word_q |= Q(**{f"{field_name}__icontains": word})
        condition &= word_q
    if entity.has_channels:
        channel_ids = _channel_matches(model, query, hidden)
        if channel_ids is not None:
            condition |= Q(pk__in=channel_ids)
    return queryset.filter(condition)


def _channel_matches(model, query, hidden=()):
    """A subquery of record ids whose phone or email matches, or None when the query is neither."""
    content_type = ContentType.objects.get_for_model(model)
    comms = Communication.objects.filter(content_type=content_type)
    if "@" in query:
        if "email" in hidden:
            return None
        return comms.filter(channel=Communication.Channel.EMAIL, normalized__contains=normalize_email(query)).values(
            "object_id"
        )
    digits = phone_digits(query)
    if len(digits) >= MIN_PHONE_DIGITS and re.fullmatch(r"[\d\s()+\-.]+", query) and "phone" not in hidden:
        normalized = normalize_phone(query)
        # A full number matches exactly (any format); a fragment matches anywhere in the digits.
        fragment = normalized.lstrip("+") if normalized.startswith("+") else digits
        return comms.filter(channel=Communication.Channel.PHONE).filter(
            Q(normalized=normalized) | Q(normalized__contains=fragment) | Q(normalized__contains=digits)
        ).values("object_id")
    return None
