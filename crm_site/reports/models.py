"""What the administrator sets for the reports: when a deal counts as stuck, and the sales plan."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

DEFAULT_STUCK_DAYS = 14


class StuckRule(models.Model):
    """A deal of this pipeline is stuck when it has stayed in one open stage longer than `days`."""

    pipeline = models.OneToOneField("deals.Pipeline", on_delete=models.CASCADE, related_name="stuck_rule",
                                    verbose_name=_("pipeline"))
    days = models.PositiveSmallIntegerField(_("stuck after, days"), default=DEFAULT_STUCK_DAYS,
                                            validators=[MinValueValidator(1)])

    class Meta:
        verbose_name = _("stuck deal rule")
        verbose_name_plural = _("stuck deal rules")
        ordering = ["pipeline"]

    def __str__(self):
        return f"{self.pipeline}: {self.days}"


class SalesTarget(models.Model):
    """A monthly or quarterly plan of won deals (their amount in one currency, or their number) for a manager, a
    department (with its subdepartments) or a pipeline; manager or department and a pipeline may be combined."""

    class PeriodKind(models.TextChoices):
        MONTH = "month", _("month")
        QUARTER = "quarter", _("quarter")

    class Metric(models.TextChoices):
        AMOUNT = "amount", _("amount of won deals")
        COUNT = "count", _("number of won deals")

    period_kind = models.CharField(_("period"), max_length=10, choices=PeriodKind.choices,
                                   default=PeriodKind.MONTH)
    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2000),
                                                                   MaxValueValidator(2100)])
    number = models.PositiveSmallIntegerField(_("month or quarter number"), validators=[MinValueValidator(1),
                                                                                         MaxValueValidator(12)])
    metric = models.CharField(_("measure"), max_length=10, choices=Metric.choices, default=Metric.AMOUNT)
    value = models.DecimalField(_("target"), max_digits=16, decimal_places=2, validators=[MinValueValidator(0)])
    currency = models.ForeignKey("crm_site.Currency", on_delete=models.PROTECT, null=True, blank=True,
                                 verbose_name=_("currency"), help_text=_("Required for an amount."))
    manager = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
                                related_name="sales_targets", verbose_name=_("manager"))
    department = models.ForeignKey("access.Department", on_delete=models.CASCADE, null=True, blank=True,
                                   related_name="sales_targets", verbose_name=_("department"))
    pipeline = models.ForeignKey("deals.Pipeline", on_delete=models.CASCADE, null=True, blank=True,
                                 related_name="sales_targets", verbose_name=_("pipeline"))

    class Meta:
        verbose_name = _("sales target")
        verbose_name_plural = _("sales targets")
        ordering = ["-year", "-number", "pk"]

    def __str__(self):
        return f"{self.subject_label()} · {self.period_label()}"

    def clean(self):
        errors = {}
        if self.manager_id and self.department_id:
            errors["department"] = _("Set a manager or a department, not both.")
        if not (self.manager_id or self.department_id or self.pipeline_id):
            errors["manager"] = _("Set a manager, a department or a pipeline.")
        if self.period_kind == self.PeriodKind.QUARTER and self.number and self.number > 4:
            errors["number"] = _("A quarter is numbered 1 to 4.")
        if self.metric == self.Metric.AMOUNT and not self.currency_id:
            errors["currency"] = _("An amount needs its currency.")
        if self.metric == self.Metric.COUNT and self.currency_id:
            errors["currency"] = _("A number of deals has no currency.")
        if errors:
            raise ValidationError(errors)

    @property
    def first(self):
        if self.period_kind == self.PeriodKind.QUARTER:
            return datetime.date(self.year, (self.number - 1) * 3 + 1, 1)
        return datetime.date(self.year, self.number, 1)

    def period(self):
        from .periods import period_of

        return period_of(self.period_kind, self.first)

    def period_label(self):
        return self.period().label()

    def subject_label(self):
        parts = [str(part) for part in (self.manager and (self.manager.get_full_name() or self.manager.username),
                                        self.department, self.pipeline) if part]
        return " · ".join(parts)
