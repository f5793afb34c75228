from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class MatchKey(models.Model):
    """One normalised value of one record (its phone, email, name key...): duplicates share keys."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("phone")
        EMAIL = "email", _("email")
        NAME = "name", _("name")
        NAME_BLOCK = "name_block", _("name block")
        COMPANY = "company", _("company")
        TAX_ID = "tax_id", _("tax ID")
        DOMAIN = "domain", _("website domain")
        BIRTHDAY = "birthday", _("birthday")
        ADDRESS = "address", _("address")
        # For scoring (issue 18): the name parts with the gender, the surname without its gender ending, the
        # domain of each email, the position, a company's KPP.
        PERSON = "person", _("person")
        SURNAME = "surname", _("surname")
        EMAIL_DOMAIN = "email_domain", _("email domain")
        POSITION = "position", _("position")
        KPP = "kpp", _("KPP")
        # A custom field marked "finds duplicates": the value is "<code>:<normalised value>" (issue 15).
        CUSTOM = "custom", _("custom field")

    # No index of its own: the composite indexes below start with it (one less index to write per key). No
    # database constraint either: keys are derived data (rebuilt at will) and the deferred check of each key's
    # content type cost an import a third of the time it takes to write its keys; Django still cascades.
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+", db_index=False,
                                     db_constraint=False)
    object_id = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    value = models.CharField(max_length=255)

    class Meta:
        verbose_name = _("match key")
        verbose_name_plural = _("match keys")
        indexes = [
            # Every look-up names the record type (no (kind, value) index: unused, and a fourth index to keep up
            # on each of an import's ~16 keys a record).
            models.Index(fields=["content_type", "kind", "value"], name="dedup_key_lookup"),
            models.Index(fields=["content_type", "object_id"], name="dedup_key_record"),
        ]

    def __str__(self):
        return f"{self.kind}={self.value}"


class DuplicateRule(models.Model):
    """How an entity's duplicates are found: which criteria count, and how alike names must be."""

    class Criterion(models.TextChoices):
        PHONE = "phone", _("same phone")
        EMAIL = "email", _("same email")
        NAME = "name", _("similar name and same company, birthday or address")
        COMPANY_NAME = "company_name", _("same company name")
        TAX_ID = "tax_id", _("same tax ID")
        DOMAIN = "domain", _("same website domain")

    entity = models.CharField(_("entity"), max_length=50, unique=True, help_text=_("Registry key, e.g. contact."))
    criteria = models.JSONField(_("criteria"), default=list, help_text=_("Any of: phone, email, name, "
                                                                         "company_name, tax_id, domain."))
    name_threshold = models.PositiveSmallIntegerField(
        _("name similarity threshold, %"), default=90, validators=[MinValueValidator(50), MaxValueValidator(100)]
    )
    match_against = models.JSONField(
        _("also match against"), default=list, blank=True,
        help_text=_("Other entities checked while typing, e.g. [\"contact\", \"company\"] for leads."),
    )
    enabled = models.BooleanField(_("enabled"), default=True)
    # The scoring model (dedup/scoring.py): thresholds on the calibrated percent, and the estimated weights.
    possible_percent = models.PositiveSmallIntegerField(
        _("possible duplicate from, %"), default=50, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("Warnings while typing show records from this confidence."))
    duplicate_percent = models.PositiveSmallIntegerField(
        _("duplicate from, %"), default=80, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text=_("The scan groups, and the import matches, records from this confidence."))
    auto_merge_percent = models.PositiveSmallIntegerField(
        _("automatic merge from, %"), default=97, validators=[MinValueValidator(50), MaxValueValidator(100)],
        help_text=_("Merge automatically only from this confidence, and only when no field has two different "
                    "values."))
    parameters = models.JSONField(
        _("estimated parameters"), default=dict, blank=True,
        help_text=_("m and u of each comparison level, the prior and the calibration, as estimated by "
                    "manage.py estimate_match_weights. Empty: the built-in defaults."))
    estimated_at = models.DateTimeField(_("estimated"), null=True, blank=True)
    estimated_from = models.CharField(_("estimated from"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("duplicate rule")
        verbose_name_plural = _("duplicate rules")
        ordering = ["entity"]

    def __str__(self):
        return self.entity

    def clean(self):
        from django.core.exceptions import ValidationError

        unknown = set(self.criteria or ()) - set(self.Criterion.values)
        if unknown:
            raise ValidationError({"criteria": _("Unknown criteria: %(names)s") % {"names": ", ".join(sorted(unknown))}})
        if not self.possible_percent <= self.duplicate_percent <= self.auto_merge_percent:
            raise ValidationError(_("The thresholds must grow: possible ≤ duplicate ≤ automatic merge."))


class ScanSchedule(models.Model):
    class Frequency(models.TextChoices):
        DAILY = "daily", _("daily")
        WEEKLY = "weekly", _("weekly")
        NEVER = "never", _("never")

    entity = models.CharField(_("entity"), max_length=50, unique=True)
    frequency = models.CharField(_("frequency"), max_length=10, choices=Frequency.choices, default=Frequency.NEVER)
    last_run_at = models.DateTimeField(_("last run"), null=True, blank=True)

    class Meta:
        verbose_name = _("duplicate scan schedule")
        verbose_name_plural = _("duplicate scan schedules")

    def __str__(self):
        return f"{self.entity}: {self.get_frequency_display()}"

    def is_due(self, now=None):
        now = now or timezone.now()
        if self.frequency == self.Frequency.NEVER:
            return False
        if self.last_run_at is None:
            return True
        days = 1 if self.frequency == self.Frequency.DAILY else 7
        return now - self.last_run_at >= timezone.timedelta(days=days) - timezone.timedelta(minutes=5)


class ScanRun(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("pending")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    entity = models.CharField(_("entity"), max_length=50)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(_("progress, %"), default=0)
    records = models.PositiveIntegerField(_("records"), default=0)
    candidate_pairs = models.PositiveBigIntegerField(_("candidate pairs"), default=0)
    groups = models.PositiveIntegerField(_("groups"), default=0)
    error = models.TextField(_("error"), blank=True)
    started_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("duplicate scan")
        verbose_name_plural = _("duplicate scans")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.entity} {self.created_at:%Y-%m-%d %H:%M} {self.status}"


class DuplicateGroup(models.Model):
    """Records a scan found alike; `reasons` explain why (already translated-ready codes and values)."""

    scan = models.ForeignKey(ScanRun, on_delete=models.CASCADE, related_name="duplicate_groups")
    entity = models.CharField(max_length=50, db_index=True)
    object_ids = models.JSONField(default=list)
    score = models.PositiveSmallIntegerField(default=0, db_index=True)
    reasons = models.JSONField(default=list)
    # Every two records above the auto-merge threshold with no field conflict: "Merge automatically" is offered.
    auto_mergeable = models.BooleanField(default=False)
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("duplicate group")
        verbose_name_plural = _("duplicate groups")
        ordering = ["-score", "pk"]

    def __str__(self):
        return f"{self.entity} {self.object_ids} ({self.score})"


class NotDuplicate(models.Model):
    """A pair someone marked "not a duplicate": never suggested again, for anyone."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    first_id = models.PositiveBigIntegerField()
    second_id = models.PositiveBigIntegerField()
    marked_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("not a duplicate")
        verbose_name_plural = _("not duplicates")
        constraints = [
            models.UniqueConstraint(fields=["content_type", "first_id", "second_id"], name="dedup_notdup_unique"),
            models.CheckConstraint(condition=models.Q(first_id__lt=models.F("second_id")), name="dedup_notdup_order"),
        ]

    def __str__(self):
        return f"{self.first_id} ≠ {self.second_id}"


class MergeRecord(models.Model):
    """One merge: what moved from which record, and the full previous state, so it can be undone."""

    entity = models.CharField(max_length=50)
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    survivor_id = models.PositiveBigIntegerField(db_index=True)
    other_ids = models.JSONField(default=list)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    log = models.JSONField(default=list, encoder=DjangoJSONEncoder)  # every moved value and its source
    before = models.JSONField(default=dict, encoder=DjangoJSONEncoder)  # snapshot of every record involved
    after = models.JSONField(default=dict, encoder=DjangoJSONEncoder)  # marks to detect later changes
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                  related_name="+")

    class Meta:
        verbose_name = _("merge")
        verbose_name_plural = _("merges")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.entity} #{self.survivor_id} ← {self.other_ids}"

    @property
    def model(self):
        return self.content_type.model_class()


from .importing.models import ImportBatch, ImportMapping, ImportRow  # noqa: E402,F401 (the import pipeline)
