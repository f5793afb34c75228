"""The type registry: one class per custom field type, each knowing how to build its form field, clean a value into
what the JSON column stores, show it, put it in a list cell and an export cell, and filter by it.

Stored JSON values:
    text, long_text, url, email      "text"                 (a list of them when multiple)
    phone                            "+74951234567"         E.164 when it parses, else as typed
    integer                          12
    decimal                          "12.50"                a string: JSON numbers lose cents
    money                            {"amount": "12.50", "currency": "rub"}
    date                             "2026-12-01"
    datetime                         "2026-12-01T10:00:00+00:00"   UTC, ISO 8601
    boolean                          true / false
    choice                           "option_code"          (["a", "b"] when multiple)
    file                             {"name": "<storage path>", "filename": "scan.pdf", "size": 1234}
    link                             42                     the target record's id ([42, 43] when multiple)
    user                             7                      the user's id ([7, 8] when multiple)

Adding a type is one subclass of FieldType registered with `@register`.
"""

import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db.models import Q
from django.db.models.fields.json import KeyTextTransform
from django.utils import formats, timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .expressions import DateText, NumberValue, literal

TYPES = {}


def register(cls):
    TYPES[cls.key] = cls()
    return cls


def type_choices():
    return [(key, kind.label) for key, kind in TYPES.items()]


def contains_q(code, value, *, in_list=False):
    """Records whose `code` holds `value` (or has it among its values): JSON containment (@>) on PostgreSQL,
    served by the GIN jsonb_path_ops index; a key comparison elsewhere (the SQLite demo)."""
    import json

    from django.db import connection

    if connection.vendor == "postgresql":
        return Q(custom_fields__contains={code: [value] if in_list else value})
    if in_list:
        return Q(**{f"custom_fields__{code}__icontains": json.dumps(value, ensure_ascii=False)})
    return Q(**{f"custom_fields__{code}": value})


def _empty(value):
    return value is None or value == "" or value == [] or value == {}


class FieldType:
    key = ""
    label = ""
    can_be_multiple = False
    lookups = ("exact", "in", "empty")
    # Safe widenings: the types a field of this type may become, converting its stored values.
    widens_to = ("text",)
    # How a value of this type is compared when the field finds duplicates (dedup.keys.custom_match_values):
    # "text" (trimmed, case-folded, spaces and dashes ignored), "phone", "email", or "" (it can't find them).
    match_kind = ""

    # -- values ---------------------------------------------------------------------------------------------------

    def clean_one(self, field, value, user=None):
        """One value (not empty) -> its stored JSON form; ValidationError when it is not one."""
        return value

    def clean(self, field, value, user=None):
        if field.multiple and self.can_be_multiple:
            if _empty(value):
                return None
            items = value if isinstance(value, (list, tuple, set)) or hasattr(value, "model") else [value]
            if hasattr(items, "model"):  # a queryset from a multiple choice field
                items = list(items)
            out = []
            for item in items:
                if _empty(item):
                    continue
                cleaned = self.clean_one(field, item, user=user)
                if cleaned not in out:
                    out.append(cleaned)
            return out or None
        if isinstance(value, (list, tuple)) and not self.takes_list:
            if len(value) > 1:
                raise ValidationError(_("Give one value."))
            value = value[0] if value else None
        if _empty(value):
            return None
        return self.clean_one(field, value, user=user)

    takes_list = False

    def display_one(self, field, value):
        return str(value)

    def display(self, field, value):
        if _empty(value):
            return ""
        if isinstance(value, list):
            return ", ".join(self.display_one(field, item) for item in value)
        return self.display_one(field, value)

    def export_one(self, field, value):
        return self.display_one(field, value)

    def export_cell(self, field, value):
        if _empty(value):
            return None
        if isinstance(value, list):
            return "; ".join(str(self.export_one(field, item)) for item in value)
        return self.export_one(field, value)

    def link_of(self, field, value):
        return ""

    def convert_from(self, field, old_type, value):
        """A value stored under `old_type` as this type stores it (a safe widening); None when it can't be."""
        if _empty(value):
            return None
        if old_type.key == self.key:
            return value
        return value

    # -- forms ----------------------------------------------------------------------------------------------------

    def form_field(self, field, user=None):
        return forms.CharField(max_length=255)

    def initial(self, field, value):
        return value

    # -- filters --------------------------------------------------------------------------------------------------

    def filter_value(self, field, value):
        """A filter's value (usually a string from the URL) as stored; ValidationError when it can't be."""
        return self.clean_one(field, value)

    def filter_q(self, field, lookup, value):
        code = field.code
        if lookup == "empty":
            truthy = value in (True, "1", "true", "True", "yes", "on")
            empty = ~Q(custom_fields__has_key=code) | Q(**{f"custom_fields__{code}": None})
            empty |= contains_q(code, "") | Q(**{f"custom_fields__{code}": []})
            return empty if truthy else ~empty
        if lookup in ("exact", "in"):
            values = value if isinstance(value, (list, tuple)) else [value]
            q = Q()
            for item in values:
                if _empty(item):
                    continue
                try:
                    stored = self.filter_value(field, item)
                except ValidationError:
                    continue
                # JSON containment (@>): the GIN jsonb_path_ops index answers it
                q |= contains_q(code, stored, in_list=field.multiple and self.can_be_multiple)
            return q if q else Q(pk__in=[])
        if lookup == "contains":
            return Q(**{f"custom_fields__{code}__icontains": str(value)})
        if lookup in ("gte", "lte", "gt", "lt"):
            return None  # ranges: see filter_queryset (annotated)
        raise ValidationError(_("Unknown filter “%(lookup)s”.") % {"lookup": str(lookup)[:20]})

    def range_expression(self, field):
        return None

    def sort_expression(self, field):
        return KeyTextTransform(field.code, "custom_fields")

    def index_expressions(self, field, column):
        """The expression indexes a filterable field of this type gets on PostgreSQL (`customfields.indexes`):
        [(method, indexed expression)], each exactly the SQL its filter compiles to. Equality and "any of" need
        none (the column's GIN index answers containment)."""
        out = []
        if "contains" in self.lookups:  # Django's icontains: UPPER((col ->> 'code')::text) LIKE UPPER('%…%')
            out.append(("gin", f"(UPPER(({column} ->> {literal(field.code)})::text)) gin_trgm_ops"))
        expression = self.range_expression(field)
        if expression is not None:
            out.append(("btree", f"({expression.sql(column)})"))
        return out


class TextType(FieldType):
    key = "text"
    label = gettext_lazy("text")
    can_be_multiple = True
    lookups = ("exact", "in", "contains", "empty")
    max_length = 255
    match_kind = "text"

    def clean_one(self, field, value, user=None):
        if isinstance(value, (dict, list)):
            raise ValidationError(_("Give text."))
        if isinstance(value, bool):
            value = _("yes") if value else _("no")
        text = str(value).strip()
        if len(text) > self.max_length:
            raise ValidationError(_("At most %(n)s characters.") % {"n": self.max_length})
        return text or None

    def form_field(self, field, user=None):
        return forms.CharField(max_length=self.max_length)

    def convert_from(self, field, old_type, value):
        if _empty(value) or old_type.key == self.key:
            return value
        shown = old_type.display(old_type_field(field, old_type), value)
        return shown[: self.max_length] or None


def old_type_field(field, old_type):
    """The definition as it was before a type change (same options, the old type)."""
    import copy

    old = copy.copy(field)
    old.type = old_type.key
    return old


register(TextType)


@register
class LongTextType(TextType):
    key = "long_text"
    label = gettext_lazy("long text")
    can_be_multiple = False
    max_length = 20_000
    match_kind = ""  # a text of paragraphs is no identifier

    def form_field(self, field, user=None):
        return forms.CharField(max_length=self.max_length, widget=forms.Textarea(attrs={"rows": 3}))


@register
class IntegerType(FieldType):
    key = "integer"
    label = gettext_lazy("integer")
    lookups = ("exact", "in", "gte", "lte", "empty")
    widens_to = ("decimal", "text")
    match_kind = "text"

    def clean_one(self, field, value, user=None):
        if isinstance(value, bool):
            raise ValidationError(_("Enter a whole number."))
        if isinstance(value, (int,)):
            number = value
        else:
            text = str(value).strip().replace(" ", "").replace("\u00a0", "")
            if not re.fullmatch(r"[+-]?\d{1,18}", text):
                raise ValidationError(_("Enter a whole number."))
            number = int(text)
        if abs(number) > 10**18:
            raise ValidationError(_("Enter a whole number."))
        return number

    def form_field(self, field, user=None):
        return forms.IntegerField()

    def export_one(self, field, value):
        return value

    def display_one(self, field, value):
        return formats.number_format(value, use_l10n=True, force_grouping=True)

    def range_expression(self, field):
        return NumberValue(field.code)

    sort_expression = range_expression


@register
class DecimalType(FieldType):
    key = "decimal"
    label = gettext_lazy("decimal number")
    lookups = ("exact", "in", "gte", "lte", "empty")

    def to_decimal(self, value):
        if isinstance(value, bool):
            raise ValidationError(_("Enter a number."))
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, (int, float)):
            number = Decimal(str(value))
        else:
            text = str(value).strip().replace(" ", "").replace("\u00a0", "").replace(",", ".")
            try:
                number = Decimal(text)
            except InvalidOperation:
                raise ValidationError(_("Enter a number.")) from None
        if not number.is_finite() or abs(number) >= Decimal(10) ** 18:
            raise ValidationError(_("Enter a number."))
        return number

    def clean_one(self, field, value, user=None):
        return format(self.to_decimal(value), "f")

    def form_field(self, field, user=None):
        return forms.DecimalField(max_digits=24, decimal_places=6, localize=True)

    def initial(self, field, value):
        return Decimal(value) if value not in (None, "") else None

    def display_one(self, field, value):
        return formats.number_format(Decimal(str(value)), use_l10n=True, force_grouping=True)

    def export_one(self, field, value):
        return Decimal(str(value))

    def convert_from(self, field, old_type, value):
        if _empty(value):
            return None
        return str(Decimal(value)) if old_type.key == "integer" else value

    def range_expression(self, field):
        return NumberValue(field.code)

    sort_expression = range_expression


class MoneyWidget(forms.MultiWidget):
    def __init__(self, currencies, attrs=None):
        super().__init__([forms.NumberInput(attrs={"step": "0.01"}), forms.Select(choices=currencies)], attrs)

    def decompress(self, value):
        if isinstance(value, dict):
            return [value.get("amount"), value.get("currency")]
        return [None, None]


class MoneyFormField(forms.MultiValueField):
    def __init__(self, currencies, **kwargs):
        fields = (forms.DecimalField(max_digits=24, decimal_places=2), forms.ChoiceField(choices=currencies))
        super().__init__(fields, require_all_fields=False, widget=MoneyWidget(currencies), **kwargs)

    def compress(self, data_list):
        if not data_list or data_list[0] in (None, ""):
            return None
        return {"amount": data_list[0], "currency": data_list[1]}


def _currencies():
    from crm_site.models import Currency

    return list(Currency.objects.filter(is_active=True).order_by("-is_default", "order", "pk"))


@register
class MoneyType(FieldType):
    key = "money"
    label = gettext_lazy("money (amount and currency)")
    lookups = ("gte", "lte", "empty")
    takes_list = False

    def clean_one(self, field, value, user=None):
        currencies = {c.code: c for c in _currencies()}
        if isinstance(value, dict):
            amount, currency = value.get("amount"), value.get("currency")
        else:  # "1 200,50 RUB", "1200.5"
            match = re.fullmatch(r"\s*([-+\d\s\u00a0.,]+?)\s*([A-Za-z]{3})?\s*", str(value))
            if not match:
                raise ValidationError(_("Enter an amount and a currency, e.g. 1200.50 RUB."))
            amount, currency = match.group(1), match.group(2)
        if not currency:
            default = next((c for c in currencies.values() if c.is_default), None) or next(iter(currencies.values()),
                                                                                        None)
            currency = default.code if default else ""
        currency = str(currency).lower()
        if currency not in currencies:
            raise ValidationError(_("Unknown currency “%(code)s”.") % {"code": currency[:10]})
        number = DecimalType().to_decimal(amount)
        return {"amount": str(number.quantize(Decimal("0.01"))), "currency": currency}

    def form_field(self, field, user=None):
        return MoneyFormField([(c.code, str(c)) for c in _currencies()])

    def display_one(self, field, value):
        amount = formats.number_format(Decimal(value["amount"]), decimal_pos=2, use_l10n=True, force_grouping=True)
        return f"{amount} {str(value.get('currency', '')).upper()}"

    def export_cell(self, field, value):
        if _empty(value):
            return None
        return self.display_one(field, value)

    def export_columns(self, field):
        return 2

    def range_expression(self, field):
        return NumberValue(field.code, "amount")

    sort_expression = range_expression

    def filter_value(self, field, value):
        return DecimalType().to_decimal(value)


@register
class DateType(FieldType):
    key = "date"
    label = gettext_lazy("date")
    lookups = ("exact", "gte", "lte", "empty")

    def to_date(self, value):
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        text = str(value).strip()
        parsed = None
        try:
            parsed = parse_date(text)
        except ValueError:
            parsed = None
        if parsed is None:
            for fmt in ("%d.%m.%Y", "%d/%m/%Y", "%d.%m.%y"):
                try:
                    parsed = dt.datetime.strptime(text, fmt).date()
                    break
                except ValueError:
                    continue
        if parsed is None:
            raise ValidationError(_("Enter a date, e.g. 2026-12-31."))
        return parsed

    def clean_one(self, field, value, user=None):
        return self.to_date(value).isoformat()

    def form_field(self, field, user=None):
        return forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def initial(self, field, value):
        return parse_date(value) if isinstance(value, str) else value

    def display_one(self, field, value):
        return formats.date_format(parse_date(value), "SHORT_DATE_FORMAT")

    def export_one(self, field, value):
        return parse_date(value)

    def range_expression(self, field):
        return DateText(field.code)  # ISO dates sort as time does

    sort_expression = range_expression


@register
class DateTimeType(FieldType):
    key = "datetime"
    label = gettext_lazy("date and time")
    lookups = ("gte", "lte", "empty")

    def to_datetime(self, value):
        if isinstance(value, dt.datetime):
            moment = value
        elif isinstance(value, dt.date):
            moment = dt.datetime.combine(value, dt.time())
        else:
            text = str(value).strip().replace(" ", "T", 1) if "T" not in str(value) else str(value).strip()
            try:
                moment = parse_datetime(text)
            except ValueError:
                moment = None
            if moment is None:
                for fmt in ("%d.%m.%Y %H:%M", "%d.%m.%Y %H:%M:%S"):
                    try:
                        moment = dt.datetime.strptime(str(value).strip(), fmt)
                        break
                    except ValueError:
                        continue
            if moment is None:
                raise ValidationError(_("Enter a date and time, e.g. 2026-12-31 14:30."))
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        return moment

    def clean_one(self, field, value, user=None):
        return self.to_datetime(value).astimezone(dt.UTC).isoformat(timespec="seconds")

    def form_field(self, field, user=None):
        return forms.DateTimeField(widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                              format="%Y-%m-%dT%H:%M"))

    def initial(self, field, value):
        return timezone.localtime(parse_datetime(value)) if isinstance(value, str) else value

    def display_one(self, field, value):
        return formats.date_format(timezone.localtime(parse_datetime(value)), "SHORT_DATETIME_FORMAT")

    def export_one(self, field, value):
        return timezone.localtime(parse_datetime(value)).replace(tzinfo=None)

    def filter_value(self, field, value):
        return self.clean_one(field, value)

    def range_expression(self, field):
        return DateText(field.code)  # UTC ISO strings sort as time does

    sort_expression = range_expression


class YesNoSelect(forms.NullBooleanSelect):
    """Yes / no / not set ("—", never "Unknown")."""

    def __init__(self, attrs=None):
        super().__init__(attrs)
        self.choices = [("unknown", "—"), ("true", _("yes")), ("false", _("no"))]


@register
class BooleanType(FieldType):
    key = "boolean"
    label = gettext_lazy("yes/no")
    lookups = ("exact", "empty")

    def clean_one(self, field, value, user=None):
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if lowered in ("1", "true", "yes", "on", "да", "так", "y"):
            return True
        if lowered in ("0", "false", "no", "off", "нет", "ні", "n"):
            return False
        raise ValidationError(_("Enter yes or no."))

    def form_field(self, field, user=None):
        return forms.NullBooleanField(widget=YesNoSelect())

    def display_one(self, field, value):
        return _("yes") if value else _("no")


@register
class ChoiceType(FieldType):
    key = "choice"
    label = gettext_lazy("list")
    can_be_multiple = True
    lookups = ("exact", "in", "empty")

    def clean_one(self, field, value, user=None):
        choices = dict(field.choices)
        text = str(value).strip()
        if text in choices:
            return text
        by_label = {str(label).casefold(): code for code, label in field.choices}
        if text.casefold() in by_label:  # an import cell names the option by its label
            return by_label[text.casefold()]
        raise ValidationError(_("“%(value)s” is not one of the options.") % {"value": text[:60]})

    def form_field(self, field, user=None):
        if field.multiple:
            return forms.MultipleChoiceField(choices=field.choices, widget=forms.CheckboxSelectMultiple)
        return forms.ChoiceField(choices=[("", "—"), *field.choices])

    def display_one(self, field, value):
        return str(dict(field.all_choices).get(value, value))

    def convert_from(self, field, old_type, value):
        if _empty(value):
            return None
        if field.multiple and not isinstance(value, list):
            return [value]  # single -> multiple
        return value


@register
class URLType(TextType):
    key = "url"
    label = gettext_lazy("web address (URL)")
    lookups = ("contains", "empty")

    def clean_one(self, field, value, user=None):
        text = super().clean_one(field, value)
        if text and not re.match(r"^[a-z][a-z0-9+.-]*://", text, re.I):
            text = "https://" + text
        if text:
            URLValidator(schemes=["http", "https"], message=_("Enter a web address."))(text)
        return text

    def form_field(self, field, user=None):
        return forms.URLField(max_length=self.max_length, assume_scheme="https")

    def link_of(self, field, value):
        return value if isinstance(value, str) and value.lower().startswith(("http://", "https://")) else ""


@register
class EmailType(TextType):
    key = "email"
    label = gettext_lazy("email")
    lookups = ("exact", "contains", "empty")
    match_kind = "email"

    def clean_one(self, field, value, user=None):
        text = super().clean_one(field, value)
        if text:
            EmailValidator(message=_("Enter an email address."))(text)
            text = text.lower() if "@" in text else text
        return text

    def form_field(self, field, user=None):
        return forms.EmailField(max_length=self.max_length)

    def link_of(self, field, value):
        return f"mailto:{value}" if isinstance(value, str) else ""


@register
class PhoneType(TextType):
    key = "phone"
    label = gettext_lazy("phone")
    lookups = ("exact", "contains", "empty")
    match_kind = "phone"

    def clean_one(self, field, value, user=None):
        from crm_site import normalize

        text = super().clean_one(field, value)
        if not text:
            return None
        number = normalize.parse_phone(text)
        if number is None:
            raise ValidationError(_("Enter a phone number, e.g. +7 495 123-45-67."))
        return normalize.normalize_phone(text)

    def form_field(self, field, user=None):
        return forms.CharField(max_length=40, widget=forms.TextInput(attrs={"type": "tel"}))

    def display_one(self, field, value):
        from crm_site import normalize

        return normalize.format_phone(value)

    def export_one(self, field, value):
        return self.display_one(field, value)

    def link_of(self, field, value):
        return f"tel:{value}" if isinstance(value, str) else ""


@register
class FileType(FieldType):
    key = "file"
    label = gettext_lazy("file")
    lookups = ("empty",)
    widens_to = ()
    max_size = 20 * 1024 * 1024

    def clean_one(self, field, value, user=None):
        from django.core.files.storage import default_storage
        from django.core.files.uploadedfile import UploadedFile

        if isinstance(value, dict) and value.get("name"):  # already stored (a merge, a re-save)
            return {k: value[k] for k in ("name", "filename", "size") if k in value}
        if not isinstance(value, UploadedFile):
            raise ValidationError(_("Upload a file."))
        if value.size > self.max_size:
            raise ValidationError(_("The file is larger than %(mb)s MB.") % {"mb": self.max_size // (1024 * 1024)})
        filename = re.sub(r"[^\w.\- ]", "_", value.name.rsplit("/", 1)[-1])[:120] or "file"
        path = default_storage.save(f"customfields/{field.entity}/{field.code}/{uuid.uuid4().hex}/{filename}", value)
        return {"name": path, "filename": filename, "size": value.size}

    def form_field(self, field, user=None):
        return forms.FileField()

    def initial(self, field, value):
        return None

    def display_one(self, field, value):
        return value.get("filename") or value.get("name", "") if isinstance(value, dict) else str(value)



class _RecordChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username() if hasattr(obj, "get_full_name") else str(obj)


class _RecordMultipleChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj):
        return obj.get_full_name() or obj.get_username() if hasattr(obj, "get_full_name") else str(obj)


class _IdType(FieldType):
    """Values are ids of rows of `self.model(field)`; checked against what the writing user may pick."""

    can_be_multiple = True
    lookups = ("exact", "in", "empty")
    widens_to = ("text",)

    def model(self, field):
        raise NotImplementedError

    def choices_queryset(self, field, user=None):
        raise NotImplementedError

    def clean_one(self, field, value, user=None):
        pk = getattr(value, "pk", value)
        if isinstance(pk, bool) or not (isinstance(pk, int) or (isinstance(pk, str) and pk.strip().isdigit()
                                                                 and len(pk.strip()) <= 18)):
            raise ValidationError(_("“%(value)s” is not an id.") % {"value": str(value)[:40]})
        pk = int(pk)
        from .batch import current

        batch = current()
        allowed = batch.allowed.get(field.pk) if batch is not None and user is not None else None
        if allowed is not None:
            if pk not in allowed:
                raise ValidationError(_("There is no choice with the id %(id)s you can use.") % {"id": pk})
            return pk
        if not self.choices_queryset(field, user).filter(pk=pk).exists():
            raise ValidationError(_("There is no choice with the id %(id)s you can use.") % {"id": pk})
        return pk

    def filter_value(self, field, value):
        pk = getattr(value, "pk", value)
        if isinstance(pk, str) and pk.strip().isdigit():
            return int(pk)
        if isinstance(pk, int) and not isinstance(pk, bool):
            return pk
        raise ValidationError(_("“%(value)s” is not an id.") % {"value": str(value)[:40]})

    def names(self, field, pks):
        return {obj.pk: self.name_of(obj) for obj in self.model(field)._base_manager.filter(pk__in=pks)}

    def name_of(self, obj):
        return str(obj)

    def display_one(self, field, value):
        return self.names(field, [value]).get(value, f"#{value}")

    def display(self, field, value):
        if _empty(value):
            return ""
        values = value if isinstance(value, list) else [value]
        names = self.names(field, values)
        return ", ".join(names.get(v, f"#{v}") for v in values)

    def export_cell(self, field, value):
        return self.display(field, value) or None

    def form_field(self, field, user=None):
        queryset = self.choices_queryset(field, user)
        if field.multiple:
            return _RecordMultipleChoice(queryset=queryset)
        return _RecordChoice(queryset=queryset)


@register
class LinkType(_IdType):
    key = "link"
    label = gettext_lazy("link to a CRM record")

    def model(self, field):
        from crm_site.registry import registry

        return registry[field.target_entity].model

    def choices_queryset(self, field, user=None):
        from access.scopes import READ

        model = self.model(field)
        if user is None:
            return model.objects.all()
        return model.objects.visible_to(user, READ)

    def form_field(self, field, user=None):
        from crm_site.widgets import AutocompleteSelect

        form_field = super().form_field(field, user)
        if not field.multiple:
            form_field.widget = AutocompleteSelect(field.target_entity)
            form_field.widget.choices = form_field.choices
        return form_field

    def initial(self, field, value):
        return value

    def restricted_display(self, field, value, user):
        """[(name, url)]: a record `user` may not open reads "hidden record", without a link."""
        from access.scopes import READ

        values = value if isinstance(value, list) else [value]
        model = self.model(field)
        names = self.names(field, values)
        visible = set(model.objects.visible_to(user, READ).filter(pk__in=values).values_list("pk", flat=True)) \
            if user is not None else set(values)
        out = []
        for pk in values:
            if pk in visible:
                out.append((names.get(pk, f"#{pk}"), model(pk=pk).get_absolute_url()))
            else:
                out.append((_("hidden record"), ""))
        return out


@register
class UserType(_IdType):
    key = "user"
    label = gettext_lazy("user")

    def model(self, field):
        return get_user_model()

    def choices_queryset(self, field, user=None):
        return get_user_model().objects.filter(is_active=True).order_by("last_name", "first_name", "username")

    def name_of(self, obj):
        return obj.get_full_name() or obj.get_username()


def widening_choices(type_key):
    """The types a field of `type_key` may be changed to (itself first)."""
    kind = TYPES[type_key]
    return [type_key, *[key for key in kind.widens_to if key in TYPES]]
