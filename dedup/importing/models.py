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
