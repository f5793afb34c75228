"""Saved column mappings: "our Bitrix24 export", reused by name for the next file of the same shape."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ImportMapping(models.Model):
    entity = models.CharField(_("record type"), max_length=50, help_text=_("Registry key, e.g. contact."))
    name = models.CharField(_("name"), max_length=100)
    # Mapping.as_json(): columns by header (and occurrence), with their targets.
    columns = models.JSONField(_("columns"), default=list)
    # How the file is read: encoding, delimiter, sheet, date order, decimal comma, phone region.
    options = models.JSONField(_("file options"), default=dict, blank=True)
    # ImportDefaults.as_json(): values for fields the file doesn't give.
    defaults = models.JSONField(_("defaults"), default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                   related_name="+", verbose_name=_("created by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        app_label = "dedup"
        verbose_name = _("import mapping")
        verbose_name_plural = _("import mappings")
        ordering = ["entity", "name"]
        constraints = [models.UniqueConstraint(fields=["entity", "name"], name="dedup_importmapping_unique_name")]

    def __str__(self):
        return f"{self.entity}: {self.name}"


class ImportBatch(models.Model):
    """One import: the uploaded file (in Django's storage), how it is read and mapped, the duplicate control
    chosen, and where the apply stands. Its rows (ImportRow) are the preview and the record of what was done."""

    class Status(models.TextChoices):
        NEW = "new", _("uploaded")
        PREPARING = "preparing", _("preparing the preview")
        READY = "ready", _("preview ready")
        APPLYING = "applying", _("importing")
        APPLIED = "applied", _("imported")
        CANCELLED = "cancelled", _("cancelled")
        FAILED = "failed", _("failed")
        UNDONE = "undone", _("undone")

    class OnDuplicate(models.TextChoices):
        SKIP = "skip", _("skip: leave the existing record")
        MERGE = "merge", _("merge: fill empty fields, add new phones, emails and tags")
        REPLACE = "replace", _("replace: the file's values overwrite")
        ALLOW = "allow", _("allow: create anyway")

    entity = models.CharField(_("record type"), max_length=50)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True,
                                   related_name="+", verbose_name=_("imported by"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    file = models.CharField(_("stored file"), max_length=255, blank=True)  # a name in default_storage
    file_name = models.CharField(_("file name"), max_length=255, blank=True)
    file_format = models.CharField(_("format"), max_length=10, blank=True)
    options = models.JSONField(_("file options"), default=dict, blank=True)
    mapping = models.JSONField(_("columns"), default=dict, blank=True)
    defaults = models.JSONField(_("defaults"), default=dict, blank=True)
    on_duplicate = models.CharField(_("on duplicate"), max_length=10, choices=OnDuplicate.choices,
                                    default=OnDuplicate.MERGE)
    match = models.JSONField(_("match on"), default=list, blank=True)
    all_or_nothing = models.BooleanField(_("all or nothing"), default=False)
    # A row the engine calls only a possible duplicate is held back unless the importer, having looked at them
    # in the preview, chose to create them.
    create_possible = models.BooleanField(_("create possible duplicates"), default=False)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.NEW)
    error = models.TextField(_("error"), blank=True)
    total = models.PositiveIntegerField(_("rows"), default=0)
    done = models.PositiveIntegerField(_("rows done"), default=0)
    counts = models.JSONField(_("counts"), default=dict, blank=True)
    companies = models.JSONField(default=dict, blank=True)  # company key -> id created or found by this batch
    created_links = models.JSONField(default=list, blank=True)  # [[entity, id]] records created besides the rows
    cancel_requested = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    undo_report = models.JSONField(default=dict, blank=True)

    class Meta:
        app_label = "dedup"
        verbose_name = _("import batch")
        verbose_name_plural = _("import batches")
        ordering = ["-pk"]

    def __str__(self):
        return f"#{self.pk} {self.entity} {self.file_name}"


class ImportRow(models.Model):
    """One row of an import file after the decision: what the apply does (or did) with it."""

    class Outcome(models.TextChoices):
        CREATE = "create", _("create")
        MERGE = "merge", _("merge")
        REPLACE = "replace", _("replace")
        SKIP = "skip", _("skip")
        UNCHANGED = "unchanged", _("nothing new")
        IN_FILE = "in_file", _("duplicate in the file")
        AMBIGUOUS = "ambiguous", _("ambiguous")
        POSSIBLE = "possible", _("possible duplicate")
        CANNOT_EDIT = "cannot_edit", _("duplicate of a record you cannot edit")
        ERROR = "error", _("error")

    batch = models.ForeignKey(ImportBatch, on_delete=models.CASCADE, related_name="rows")
    number = models.PositiveIntegerField(_("row"))
    raw = models.JSONField(default=list)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    target_id = models.BigIntegerField(null=True, blank=True)  # the matched record (merge, replace, skip)
    leader = models.PositiveIntegerField(null=True, blank=True)  # in_file: the row it was merged into
    diff = models.JSONField(default=list, blank=True)  # [{"field", "old", "new", "action"}]
    messages = models.JSONField(default=list, blank=True)  # [RowIssue.as_json() or {"code": ..., ...}]
    plan = models.JSONField(default=dict, blank=True)  # what the apply writes
    version = models.BigIntegerField(null=True, blank=True)  # the target's version the decision saw
    applied = models.BooleanField(default=False)
    record_id = models.BigIntegerField(null=True, blank=True)  # the record written (created or updated)
    applied_version = models.BigIntegerField(null=True, blank=True)  # its version right after the import
    before = models.JSONField(default=dict, blank=True)  # channels, links, tags before the import (undo)
    undone = models.BooleanField(default=False)

    class Meta:
        app_label = "dedup"
        verbose_name = _("import row")
        verbose_name_plural = _("import rows")
        ordering = ["batch", "number"]
        constraints = [models.UniqueConstraint(fields=["batch", "number"], name="dedup_importrow_unique_number")]
        indexes = [models.Index(fields=["batch", "applied", "number"], name="dedup_importrow_pending")]

    def __str__(self):
        return f"{self.batch_id}:{self.number} {self.outcome}"
