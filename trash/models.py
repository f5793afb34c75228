"""Retention rules of the recycle bin: how long each entity type stays there before the purge."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _


def default_retention_days():
    return getattr(settings, "CRM_TRASH_RETENTION_DAYS", 30)


class RetentionPolicy(models.Model):
    """Days a binned record of one entity type is kept; an entity without a row uses CRM_TRASH_RETENTION_DAYS."""

    entity_key = models.CharField(_("record type"), max_length=50, unique=True)
    days = models.PositiveIntegerField(
        _("days in the bin"), default=default_retention_days,
        validators=[MinValueValidator(1), MaxValueValidator(3650)],
        help_text=_("Records of this type are deleted for good this many days after they were moved to the bin."),
    )

    class Meta:
        verbose_name = _("retention period")
        verbose_name_plural = _("retention periods")
        ordering = ["entity_key"]

    def __str__(self):
        return f"{self.entity_label}: {self.days}"

    @property
    def entity_label(self):
        from crm_site.registry import registry

        if self.entity_key in registry:
            return str(registry[self.entity_key].verbose_name_plural).capitalize()
        return self.entity_key
