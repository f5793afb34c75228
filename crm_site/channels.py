"""Phones, emails, messengers and web links of a record as the write services take them: validation of one
value (shared with the edit form), and the plan that turns a wanted list of values into row changes.

A channel given to a write replaces that channel's values; channels not given stay as they are. An item is
a string or a dict {"value", "kind", "is_primary", "id"}: with an "id" it is that existing row; without one, an
existing row with the same normalised value is kept (so re-saving a number in another format changes nothing).
"""

from dataclasses import dataclass, field

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import Communication
from .normalize import is_phone
from .validation import parse_id

CHANNEL_LABELS = {
    Communication.Channel.PHONE: gettext_lazy("Phones"),
    Communication.Channel.EMAIL: gettext_lazy("Emails"),
    Communication.Channel.MESSENGER: gettext_lazy("Messengers"),
    Communication.Channel.WEB: gettext_lazy("Websites and social links"),
}
CHANNELS = tuple(str(channel.value) for channel in Communication.Channel)


def clean_channel_value(channel, value):
    """The value as stored (stripped; a web link gets https://), or ValidationError with a message for people."""
    value = (value or "").strip()
    if not value:
        return value
    if channel == Communication.Channel.PHONE:
        if not is_phone(value):
            raise ValidationError(
                _("“%(value)s” is not a phone number. Type it with the country code, e.g. +7 495 123-45-67."),
                params={"value": value}, code="phone",
            )
    elif channel == Communication.Channel.EMAIL:
        try:
            validate_email(value)
        except ValidationError:
            raise ValidationError(_("“%(value)s” is not an email address."), params={"value": value},
                                  code="email") from None
    elif channel == Communication.Channel.WEB:
        if not value.lower().startswith(("http://", "https://")):
            value = "https://" + value
        forms.URLField(assume_scheme="https").clean(value)
    if len(value) > Communication._meta.get_field("value").max_length:
        raise ValidationError(_("“%(value)s…” is too long."), params={"value": value[:40]}, code="max_length")
    return value


@dataclass
class Wanted:
    value: str
    kind: str
    is_primary: bool = False
    id: int | None = None
    normalized: str = ""


def parse_wanted(channel, items):
    """[Wanted] from the items given for one channel, or ValidationError listing every bad item."""
    kinds = [str(k.value) for k in Communication.KINDS_BY_CHANNEL[Communication.Channel(channel)]]
    wanted, errors, seen = [], [], set()
    for item in items or ():
        if isinstance(item, str):
            item = {"value": item}
        if not isinstance(item, dict):
            errors.append(_("Each value must be text or an object with a “value”."))
            continue
        try:
            value = clean_channel_value(channel, item.get("value") if isinstance(item.get("value"), str) else "")
        except ValidationError as error:
            errors.extend(error.messages)
            continue
        if not value:
            continue
        kind = str(item.get("kind") or kinds[0])
        if kind not in kinds:
            errors.append(_("“%(kind)s” is not a kind of this channel: %(kinds)s.")
                          % {"kind": kind[:30], "kinds": ", ".join(kinds)})
            continue
        normalized = Communication.normalize_value(channel, value)
        if normalized in seen:
            errors.append(_("“%(value)s” is in the list twice.") % {"value": value})
            continue
        seen.add(normalized)
        pk = item.get("id")
        wanted.append(Wanted(value=value, kind=kind, is_primary=bool(item.get("is_primary")),
                             id=parse_id(pk),
                             normalized=normalized))
    if errors:
        raise ValidationError(errors)
    return wanted


def grouped(channels):
    """{channel: items} from a mapping or from a sequence of dicts carrying a "channel" key."""
    if channels is None:
        return None
    if isinstance(channels, dict):
        return {str(name): list(items or ()) for name, items in channels.items()}
    out = {}
    for item in channels:
        if not isinstance(item, dict) or "channel" not in item:
            raise ValidationError({"channels": [_("Each value must name its channel (phone, email...).")]})
        out.setdefault(str(item["channel"]), []).append({k: v for k, v in item.items() if k != "channel"})
    return out


@dataclass
class ChannelPlan:
    """Row changes for one record: new rows, changed rows (kind, value, primary flag, position), deleted rows."""

    create: list = field(default_factory=list)  # Communication (unsaved)
    update: list = field(default_factory=list)  # Communication (changed in memory)
    delete: list = field(default_factory=list)  # Communication

    @property
    def changed(self):
        return bool(self.create or self.update or self.delete)


def plan(record, existing, wanted_by_channel):
    """The plan turning `existing` rows (all channels of the record) into the wanted values of the channels named
    in `wanted_by_channel`; exactly one primary value per channel that has values (the first marked, else the
    first)."""
    result = ChannelPlan()
    for channel, wanted in wanted_by_channel.items():
        rows = [comm for comm in existing if comm.channel == channel]
        by_id = {comm.pk: comm for comm in rows}
        by_value = {}
        for comm in rows:
            by_value.setdefault(comm.normalized, comm)
        claimed = set()
        ordered = []
        for item in wanted:
            comm = by_id.get(item.id) if item.id is not None else None
            if comm is None or comm.pk in claimed:
                candidate = by_value.get(item.normalized)
                comm = candidate if candidate is not None and candidate.pk not in claimed else None
            ordered.append((item, comm))
            if comm is not None:
                claimed.add(comm.pk)
        primary = next((i for i, (item, _c) in enumerate(ordered) if item.is_primary), 0)
        for position, (item, comm) in enumerate(ordered):
            is_primary = position == primary
            if comm is None:
                comm = Communication(content_type_id=record_content_type_id(record), object_id=record.pk,
                                     channel=channel, kind=item.kind, value=item.value, normalized=item.normalized,
                                     is_primary=is_primary, position=position)
                result.create.append(comm)
                continue
            new = (item.kind, item.value, item.normalized, is_primary, position)
            if (comm.kind, comm.value, comm.normalized, comm.is_primary, comm.position) != new:
                comm.kind, comm.value, comm.normalized, comm.is_primary, comm.position = new
                result.update.append(comm)
        result.delete += [comm for comm in rows if comm.pk not in claimed]
    return result


def record_content_type_id(record):
    from django.contrib.contenttypes.models import ContentType

    return ContentType.objects.get_for_model(type(record)).pk
