"""What users keep of their lists: columns and page size (per user, or the admin's default per entity),
saved views ("segments"), and bulk jobs run in the background."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class ListSettings(models.Model):
    """A user's columns, their order, page size and sort for one entity's list; `user` empty: the default view
    the admin defines for everyone who has not chosen."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                             related_name="+", verbose_name=_("user"),
                             help_text=_("Empty: the default view of everyone who has not chosen their own."))
    entity_key = models.CharField(_("record type"), max_length=50)
    columns = models.JSONField(_("columns"), default=list, blank=True,
                               help_text=_("Column names in order; empty: the record type's default columns."))
    page_size = models.PositiveSmallIntegerField(_("rows per page"), default=25)
    sort = models.CharField(_("sort"), max_length=80, blank=True)

    class Meta:
        verbose_name = _("list view")
        verbose_name_plural = _("list views")
        constraints = [
            models.UniqueConstraint(fields=["user", "entity_key"], name="lists_settings_user_entity"),
            models.UniqueConstraint(fields=["entity_key"], condition=models.Q(user__isnull=True),
                                    name="lists_settings_default_entity"),
        ]

    def __str__(self):
        return f"{self.entity_key}: {self.user or _('default')}"


class Segment(models.Model):
    """A saved list: the list's query string (filters, quick search, sort). Shared segments are offered to
    everyone, but each viewer sees only the records of their own scope."""

    name = models.CharField(_("name"), max_length=100)
    entity_key = models.CharField(_("record type"), max_length=50, db_index=True)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                              verbose_name=_("author"))
    shared = models.BooleanField(_("shared"), default=False,
                                 help_text=_("Offered to every user; each still sees only what they may."))
    params = models.TextField(_("filters"), blank=True, help_text=_("The list's query string."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    @property
    def query_dict(self):
        from django.http import QueryDict

        return QueryDict(self.params)


class BulkJob(models.Model):
    """A bulk action on many rows, run as a Celery task; the list shows its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+",
                             verbose_name=_("user"))
    entity_key = models.CharField(_("record type"), max_length=50)
    action = models.CharField(_("action"), max_length=30)
    value = models.JSONField(_("value"), default=dict, blank=True)
    ids = models.JSONField(_("records"), default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(_("total"), default=0)
    done = models.PositiveIntegerField(_("changed"), default=0)
    refused = models.PositiveIntegerField(_("refused"), default=0)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("bulk action")
        verbose_name_plural = _("bulk actions")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.action} × {self.total}"

    @property
    def percent(self):
        return 100 if not self.total else min(100, round(100 * (self.done + self.refused) / self.total))
