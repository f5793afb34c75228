from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from access.grants import grant_models
from crm_site.models import CRMObject, full_name


class Contact(CRMObject):
    class Honorific(models.TextChoices):
        MR = "mr", _("Mr.")
        MRS = "mrs", _("Mrs.")
        MS = "ms", _("Ms.")
        DR = "dr", _("Dr.")

    last_name = models.CharField(_("last name"), max_length=100, blank=True, db_index=True)
    first_name = models.CharField(_("first name"), max_length=100, blank=True)
    middle_name = models.CharField(_("middle name (patronymic)"), max_length=100, blank=True)
    honorific = models.CharField(_("honorific"), max_length=5, choices=Honorific.choices, blank=True)
    position = models.CharField(_("position"), max_length=150, blank=True)
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    address = models.TextField(_("address"), blank=True)
    source = models.ForeignKey(
        "crm_site.Source", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("source")
    )
    type = models.ForeignKey(
        "crm_site.ClientType", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("type")
    )
    tags = models.ManyToManyField("crm_site.Tag", blank=True, related_name="contacts", verbose_name=_("tags"))
    comment = models.TextField(_("comment"), blank=True)
    companies = models.ManyToManyField(
        "companies.Company", through="ContactCompany", related_name="contacts", verbose_name=_("companies")
    )

    class Meta(CRMObject.Meta):
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    STR_FIELDS = ("last_name", "first_name", "middle_name")  # what __str__ reads (see Company.STR_FIELDS)

    def __str__(self):
        return self.full_name or str(_("(no name)"))

    def clean(self):
        super().clean()
        if not any((value or "").strip() for value in (self.last_name, self.first_name, self.middle_name)):
            raise ValidationError(_("Enter at least a last name or a first name."))

    @property
    def full_name(self):
        return full_name(self.last_name, self.first_name, self.middle_name)


class ContactCompany(models.Model):
    """A contact's place at a company, with the position held there; one link is the primary one."""

    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="company_links",
                                verbose_name=_("contact"))
    company = models.ForeignKey("companies.Company", on_delete=models.CASCADE, related_name="contact_links",
                                verbose_name=_("company"))
    position = models.CharField(_("position"), max_length=150, blank=True)
    is_primary = models.BooleanField(_("primary"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("contact's company")
        verbose_name_plural = _("contacts' companies")
        ordering = ["-is_primary", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["contact", "company"], name="contacts_contactcompany_unique"),
        ]
        # A company's contacts from the index alone: the quick search finds contacts by their companies' names
        # (crm_site.search), a few thousand links for a common fragment at 1M contacts.
        indexes = [models.Index(fields=["company", "contact"], name="contacts_link_by_company")]

    def __str__(self):
        return f"{self.contact} — {self.company}"


# Sharing one record with a colleague (django-guardian, direct foreign keys: see access/grants.py).
ContactUserGrant, ContactGroupGrant = grant_models("contacts.Contact", "Contact")
