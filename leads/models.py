from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from access.grants import grant_models
from crm_site.models import CRMObject, EditableList, full_name


class LeadStatus(EditableList):
    class Semantic(models.TextChoices):
        OPEN = "open", _("open")
        SUCCESS = "success", _("success")
        FAILURE = "failure", _("failure")

    semantic = models.CharField(_("meaning"), max_length=10, choices=Semantic.choices, default=Semantic.OPEN)

    class Meta(EditableList.Meta):
        verbose_name = _("lead status")
        verbose_name_plural = _("lead statuses")


class Lead(CRMObject):
    class Score(models.TextChoices):
        HOT = "hot", _("hot")
        WARM = "warm", _("warm")
        COLD = "cold", _("cold")

    title = models.CharField(_("title"), max_length=255)
    last_name = models.CharField(_("last name"), max_length=100, blank=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name (patronymic)"), max_length=100, blank=True)
    position = models.CharField(_("position"), max_length=150, blank=True)
    company_name = models.CharField(_("company name"), max_length=255, blank=True)
    source = models.ForeignKey(
        "crm_site.Source", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("source")
    )
    status = models.ForeignKey(LeadStatus, on_delete=models.PROTECT, verbose_name=_("status"))
    score = models.CharField(_("score"), max_length=5, choices=Score.choices, blank=True)
    expected_amount = models.DecimalField(
        _("expected amount"), max_digits=16, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(0)],
    )
    currency = models.ForeignKey(
        "crm_site.Currency", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("currency")
    )
    comment = models.TextField(_("comment"), blank=True)
    # What the lead became.
    converted_contact = models.ForeignKey(
        "contacts.Contact", on_delete=models.SET_NULL, null=True, blank=True, related_name="source_leads",
        verbose_name=_("converted to contact"), editable=False,
    )
    converted_company = models.ForeignKey(
        "companies.Company", on_delete=models.SET_NULL, null=True, blank=True, related_name="source_leads",
        verbose_name=_("converted to company"), editable=False,
    )
    converted_at = models.DateTimeField(_("converted"), null=True, blank=True, editable=False)
    converted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        editable=False, verbose_name=_("converted by"),
    )

    class Meta(CRMObject.Meta):
        verbose_name = _("lead")
        verbose_name_plural = _("leads")

    STR_COLUMN = "title"  # str() is this field as it is (see companies.Company.STR_COLUMN)

    def __str__(self):
        return self.title

    @property
    def full_name(self):
        return full_name(self.last_name, self.first_name, self.middle_name)

    @property
    def is_converted(self):
        return self.converted_at is not None

    def clean(self):
        super().clean()
        if self.status_id and self.status.code == "converted" and not self.is_converted:
            raise ValidationError({"status": _("A lead becomes converted through the Convert button.")})


# Sharing one record with a colleague (django-guardian, direct foreign keys: see access/grants.py).
LeadUserGrant, LeadGroupGrant = grant_models("leads.Lead", "Lead")
