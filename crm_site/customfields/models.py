"""Custom field definitions (one row per field of one entity), their list options, the card layout, and background
exports."""

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from . import FIELD_PREFIX
from .types import TYPES, type_choices

CODE_VALIDATOR = RegexValidator(r"^[a-z][a-z0-9_]{0,48}$",
                                _("Latin lower-case letters, digits and “_”, starting with a letter."))


class CustomField(models.Model):
    entity = models.CharField(_("record type"), max_length=50)
    code = models.CharField(_("code"), max_length=49, validators=[CODE_VALIDATOR],
                            help_text=_("Used in imports, exports and the API; changing it keeps the values."))
    label = models.CharField(_("name"), max_length=150)
    type = models.CharField(_("type"), max_length=20, choices=type_choices())
    target_entity = models.CharField(_("links to"), max_length=50, blank=True,
                                     help_text=_("For a link to a CRM record: which kind of record."))
    multiple = models.BooleanField(_("several values"), default=False)
    required = models.BooleanField(_("required"), default=False)
    # "Required from a given deal stage / lead status on": a foreign key of the entity whose rows are ordered.
    required_from_field = models.CharField(_("required from (field)"), max_length=50, blank=True)
    required_from_id = models.PositiveIntegerField(_("required from (value)"), null=True, blank=True)
    default = models.JSONField(_("default value"), null=True, blank=True)
    help_text = models.CharField(_("help text"), max_length=300, blank=True)
    section = models.CharField(_("card section"), max_length=100, blank=True,
                               help_text=_("The card section it is shown in; a new section when no such title."))
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    show_in_list = models.BooleanField(_("shown in lists by default"), default=False)
    filterable = models.BooleanField(_("filterable"), default=True)
    unique = models.BooleanField(_("unique"), default=False)
    # The field is one of the entity's duplicate criteria (dedup): its values get match keys.
    duplicate_criterion = models.BooleanField(
        _("finds duplicates"), default=False,
        help_text=_("Records with the same value are likely the same (a customer number, a car's VIN, a loyalty "
                    "card number): compared without spaces, dashes and case, phones and emails as phones and "
                    "emails; an empty value proves nothing. Text, integer, URL, email and phone fields."))
    # Input rules
    regex = models.CharField(_("pattern (regular expression)"), max_length=300, blank=True)
    min_value = models.DecimalField(_("minimum"), max_digits=24, decimal_places=6, null=True, blank=True)
    max_value = models.DecimalField(_("maximum"), max_digits=24, decimal_places=6, null=True, blank=True)
    error_message = models.CharField(_("message shown on error"), max_length=300, blank=True)
    # Shown only when another field has one of given values (a deal in given stages, a contact of a given type)
    show_when_field = models.CharField(_("shown only when (field)"), max_length=60, blank=True)
    show_when_values = models.JSONField(_("has one of the values"), default=list, blank=True,
                                        help_text=_("Ids of the list rows or option codes, e.g. [3, 5]."))
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["entity", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["entity", "code"], name="customfield_unique_code")]

    def __str__(self):
        return self.label

    # -- what the interface promises -------------------------------------------------------------------------------

    @property
    def name(self):
        return FIELD_PREFIX + self.code

    @property
    def kind(self):
        return TYPES[self.type]

    @property
    def verbose_name(self):
        return self.label

    @property
    def lookups(self):
        return self.kind.lookups

    @property
    def choices(self):
        cached = getattr(self, "_choices_cache", None)
        if cached is None:
            cached = [(c.value, c.label) for c in self.options.all() if c.is_active]
            self._choices_cache = cached
        return cached

    @property
    def all_choices(self):
        return [(c.value, c.label) for c in self.options.all()]

    def clean_value(self, value, user=None):
        """Any input -> the stored JSON value (None for empty), with the type's and the input rules' checks."""
        cleaned = self.kind.clean(self, value, user=user)
        if cleaned is not None:
            self.check_rules(cleaned)
        return cleaned

    def check_rules(self, value):
        message = self.error_message or None
        values = value if isinstance(value, list) else [value]
        for item in values:
            if self.regex and isinstance(item, str) and not re.fullmatch(self.regex, item):
                raise ValidationError(message or gettext("The value does not match the pattern."))
            number = None
            if self.type in ("integer", "decimal"):
                number = Decimal(str(item))
            elif self.type == "money":
                number = Decimal(item["amount"])
            elif self.type in ("text", "long_text", "url", "email", "phone"):
                number = Decimal(len(item))  # length limits
            if number is not None:
                if self.min_value is not None and number < self.min_value:
                    raise ValidationError(message or (gettext("At least %(n)s.") % {"n": _n(self.min_value)}
                                          if self.type not in ("text", "long_text", "url", "email", "phone")
                                          else gettext("At least %(n)s characters.") % {"n": _n(self.min_value)}))
                if self.max_value is not None and number > self.max_value:
                    raise ValidationError(message or (gettext("At most %(n)s.") % {"n": _n(self.max_value)}
                                          if self.type not in ("text", "long_text", "url", "email", "phone")
                                          else gettext("At most %(n)s characters.") % {"n": _n(self.max_value)}))

    def form_field(self, user=None):
        field = self.kind.form_field(self, user=user)
        field.label = self.label
        field.help_text = self.help_text
        field.required = False  # "required" is the write service's rule (it may depend on the stage)
        if self.required and not self.required_from_field:
            field.widget.attrs["aria-required"] = "true"
        field.custom_field = self
        return field

    def display(self, value):
        return self.kind.display(self, value)

    def export_cell(self, value):
        return self.kind.export_cell(self, value)

    def list_cell(self, obj, user=None):
        prefetched = getattr(obj, "_cf_cells", None)
        if prefetched is not None and self.code in prefetched:
            return prefetched[self.code]
        value = (obj.custom_fields or {}).get(self.code)
        if self.type == "link" and value not in (None, "", []):
            shown = self.kind.restricted_display(self, value, user)
            return {"value": ", ".join(name for name, _url in shown), "link": shown[0][1] if len(shown) == 1 else ""}
        link = ""
        if value not in (None, "", []) and not isinstance(value, list):
            if self.type == "file":
                from django.urls import reverse

                link = reverse("customfield_file", args=[self.pk, obj.pk]) if obj.pk else ""
            else:
                link = self.kind.link_of(self, value)
        return {"value": self.display(value), "link": link}

    def filter_queryset(self, queryset, lookup, value):
        from .filters import filter_queryset

        return filter_queryset(queryset, self, lookup, value)

    def filter(self, lookup="exact"):
        from .filters import CustomFieldFilter

        return CustomFieldFilter(custom_field=self, lookup=lookup, label=self.label)

    def sort_expression(self):
        return self.kind.sort_expression(self)

    # -- rules about the definition itself ------------------------------------------------------------------------

    def clean(self):
        from crm_site.registry import registry

        errors = {}
        if self.entity not in registry:
            errors["entity"] = [gettext("Unknown record type.")]
        if self.type not in TYPES:
            errors["type"] = [gettext("Unknown type.")]
        if self.type == "link" and self.target_entity not in registry:
            errors["target_entity"] = [gettext("Choose the kind of record the field links to.")]
        if self.multiple and self.type in TYPES and not TYPES[self.type].can_be_multiple:
            errors["multiple"] = [gettext("A field of this type holds one value.")]
        if self.duplicate_criterion and self.type in TYPES and not TYPES[self.type].match_kind:
            errors["duplicate_criterion"] = [gettext("Only text, integer, URL, email and phone fields can find "
                                                     "duplicates.")]
        elif self.duplicate_criterion and self.entity in registry and not _duplicates_searched(self.entity):
            errors["duplicate_criterion"] = [gettext("Duplicates are not looked for among these records (they have "
                                                     "no duplicate rule).")]
        if self.regex:
            try:
                re.compile(self.regex)
            except re.error:
                errors["regex"] = [gettext("This is not a valid regular expression.")]
        if self.pk:
            old = CustomField.objects.filter(pk=self.pk).values_list("type", "multiple").first()
            if old and self.type != old[0] and self.type not in TYPES[old[0]].widens_to:
                errors["type"] = [gettext("The type can only be widened (integer → decimal, any → text).")]
            if old and old[1] and not self.multiple and self.type == old[0]:
                errors["multiple"] = [gettext("A field with several values cannot go back to one value.")]
        if self.default not in (None, "", []) and not errors:
            try:
                self.default = self.clean_value(self.default)
            except ValidationError as error:
                errors["default"] = error.messages
        if errors:
            raise ValidationError(errors)


def _duplicates_searched(entity_key):
    """Does the duplicate engine look for duplicates of this record type (an enabled rule, match keys)?"""
    try:
        from dedup.keys import spec_for
        from dedup.matching import rule_for
    except ImportError:  # the duplicate engine is not installed
        return False
    return spec_for(entity_key).enabled and rule_for(entity_key) is not None


def _n(value):
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


class CustomFieldChoice(models.Model):
    """An option of a list field: `value` is what records store, so the label can change freely."""

    field = models.ForeignKey(CustomField, on_delete=models.CASCADE, related_name="options",
                              verbose_name=_("custom field"))
    value = models.CharField(_("code"), max_length=60, validators=[CODE_VALIDATOR])
    label = models.CharField(_("name"), max_length=150)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("option")
        verbose_name_plural = _("options")
        ordering = ["order", "pk"]
        constraints = [models.UniqueConstraint(fields=["field", "value"], name="customfield_choice_unique")]

    def __str__(self):
        return self.label


class CardLayout(models.Model):
    """The admin's layout of an entity's card and form: sections, and the order of fields in each, standard and
    custom fields alike. `pipeline` (deals): a layout for one pipeline; the one without applies otherwise."""

    entity = models.CharField(_("record type"), max_length=50)
    pipeline = models.ForeignKey("deals.Pipeline", on_delete=models.CASCADE, null=True, blank=True,
                                 verbose_name=_("pipeline"), help_text=_("Deals only: a layout for one pipeline."))

    class Meta:
        verbose_name = _("card layout")
        verbose_name_plural = _("card layouts")
        constraints = [models.UniqueConstraint(fields=["entity", "pipeline"], name="cardlayout_unique"),
                       models.UniqueConstraint(fields=["entity"], condition=models.Q(pipeline__isnull=True),
                                               name="cardlayout_unique_default")]

    def __str__(self):
        from crm_site.registry import registry

        name = registry[self.entity].verbose_name_plural if self.entity in registry else self.entity
        return f"{name}: {self.pipeline}" if self.pipeline_id else str(name)


class CardSection(models.Model):
    layout = models.ForeignKey(CardLayout, on_delete=models.CASCADE, related_name="sections",
                               verbose_name=_("card layout"))
    title = models.CharField(_("title"), max_length=100)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    fields = models.JSONField(_("fields"), default=list, help_text=_("Field names in order, e.g. "
                                                                     "[\"last_name\", \"cf_car_model\"]."))

    class Meta:
        verbose_name = _("card section")
        verbose_name_plural = _("card sections")
        ordering = ["order", "pk"]

    def __str__(self):
        return self.title


class ExportJob(models.Model):
    """A big export made by a Celery task: its progress, then a file only its user may download, until it expires."""

    PENDING, RUNNING, DONE, FAILED = "pending", "running", "done", "failed"
    STATUS_CHOICES = [(PENDING, _("waiting")), (RUNNING, _("running")), (DONE, _("ready")), (FAILED, _("failed"))]

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    entity = models.CharField(_("record type"), max_length=50)
    file_format = models.CharField(_("format"), max_length=10)
    params = models.JSONField(_("list query"), default=dict)
    language = models.CharField(max_length=10, default="en")
    status = models.CharField(_("status"), max_length=10, choices=STATUS_CHOICES, default=PENDING)
    total = models.PositiveIntegerField(_("rows"), default=0)
    done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.CharField(_("file"), max_length=300, blank=True)
    filename = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), null=True, blank=True)

    class Meta:
        verbose_name = _("export")
        verbose_name_plural = _("exports")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.entity} {self.file_format} #{self.pk}"

    @property
    def percent(self):
        return int(100 * self.done / self.total) if self.total else (100 if self.status == self.DONE else 0)

    @property
    def expired(self):
        return self.expires_at is not None and self.expires_at <= timezone.now()
