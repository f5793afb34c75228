from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from access.grants import grant_models
from crm_site.models import CRMObject


class Company(CRMObject):
    name = models.CharField(_("name"), max_length=255, db_index=True)
    type = models.ForeignKey(
        "crm_site.ClientType", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("type")
    )
    industry = models.ForeignKey(
        "crm_site.Industry", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("industry")
    )
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    annual_revenue = models.DecimalField(
        _("annual revenue"), max_digits=16, decimal_places=2, null=True, blank=True,
        validators=[MinValueValidator(0)],
    )
    revenue_currency = models.ForeignKey(
        "crm_site.Currency", on_delete=models.PROTECT, null=True, blank=True, related_name="+",
        verbose_name=_("revenue currency"),
    )
    address = models.TextField(_("address"), blank=True)
    website = models.CharField(_("website"), max_length=255, blank=True)
    # Requisites (реквизиты)
    legal_name = models.CharField(_("legal name"), max_length=255, blank=True)
    tax_id = models.CharField(_("tax ID (INN / EDRPOU)"), max_length=20, blank=True, db_index=True)
    registration_number = models.CharField(_("registration number (OGRN)"), max_length=20, blank=True)
    kpp = models.CharField(_("KPP"), max_length=9, blank=True)
    legal_address = models.TextField(_("legal address"), blank=True)
    bank_name = models.CharField(_("bank"), max_length=255, blank=True)
    bank_code = models.CharField(_("bank code (BIC / MFO)"), max_length=20, blank=True)
    bank_account = models.CharField(_("bank account"), max_length=34, blank=True)
    comment = models.TextField(_("comment"), blank=True)

    class Meta(CRMObject.Meta):
        verbose_name = _("company")
        verbose_name_plural = _("companies")

    STR_FIELDS = ("name",)  # what __str__ reads: lists of linked companies (an export) load only these
    STR_COLUMN = "name"  # str() is this field as it is: the CSV export has PostgreSQL read it (export_sql)

    def __str__(self):
        return self.name


# Sharing one record with a colleague (django-guardian, direct foreign keys: see access/grants.py).
CompanyUserGrant, CompanyGroupGrant = grant_models("companies.Company", "Company")
