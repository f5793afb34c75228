from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from access.grants import grant_models
from crm_site.models import CRMObject, EditableList


class Pipeline(EditableList):
    is_default = models.BooleanField(_("default"), default=False)

    class Meta(EditableList.Meta):
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")


class Stage(models.Model):
    class Semantic(models.TextChoices):
        IN_PROGRESS = "progress", _("in progress")
        WON = "won", _("won")
        LOST = "lost", _("lost")

    pipeline = models.ForeignKey(Pipeline, on_delete=models.CASCADE, related_name="stages", verbose_name=_("pipeline"))
    code = models.SlugField(_("code"), max_length=50)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_ru = models.CharField(_("name (Russian)"), max_length=100, blank=True)
    name_uk = models.CharField(_("name (Ukrainian)"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    semantic = models.CharField(
        _("meaning"), max_length=10, choices=Semantic.choices, default=Semantic.IN_PROGRESS
    )
    probability = models.PositiveSmallIntegerField(
        _("probability, %"), default=0, validators=[MaxValueValidator(100)]
    )

    class Meta:
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["pipeline", "order", "pk"]
        constraints = [models.UniqueConstraint(fields=["pipeline", "code"], name="deals_stage_unique_code")]

    name = EditableList.name

    def __str__(self):
        return self.name

    @property
    def is_closed(self):
        return self.semantic != self.Semantic.IN_PROGRESS


class LostReason(EditableList):
    """Why a deal was lost (price, competitor...): the "lost by reason" report groups by it."""

    class Meta(EditableList.Meta):
        verbose_name = _("lost reason")
        verbose_name_plural = _("lost reasons")


class Deal(CRMObject):
    title = models.CharField(_("title"), max_length=255)
    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, verbose_name=_("pipeline"))
    stage = models.ForeignKey(Stage, on_delete=models.PROTECT, verbose_name=_("stage"))
    amount = models.DecimalField(
        _("amount"), max_digits=16, decimal_places=2, null=True, blank=True, validators=[MinValueValidator(0)]
    )
    currency = models.ForeignKey(
        "crm_site.Currency", on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("currency")
    )
    expected_close_date = models.DateField(_("expected close date"), null=True, blank=True)
    company = models.ForeignKey(
        "companies.Company", on_delete=models.SET_NULL, null=True, blank=True, related_name="deals",
        verbose_name=_("company"),
    )
    contacts = models.ManyToManyField(
        "contacts.Contact", through="DealContact", related_name="deals", blank=True, verbose_name=_("contacts")
    )
    source_lead = models.ForeignKey(
        "leads.Lead", on_delete=models.SET_NULL, null=True, blank=True, related_name="deals",
        verbose_name=_("source lead"),
    )
    lost_reason = models.ForeignKey(
        LostReason, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("lost reason")
    )
    comment = models.TextField(_("comment"), blank=True)

    class Meta(CRMObject.Meta):
        verbose_name = _("deal")
        verbose_name_plural = _("deals")
        indexes = [
            *CRMObject.Meta.indexes,
            # The dashboard's deals by stage (won and lost, stuck, in each stage now) within any read scope, from
            # the index alone: the live rows, every column those figures and the scope read.
            models.Index(fields=["stage"], name="deals_deal_by_stage", condition=models.Q(deleted_at__isnull=True),
                         include=["id", "pipeline", "created_at", "amount", "currency", "lost_reason", "owner",
                                  "department", "opened"]),
        ]

    STR_COLUMN = "title"  # str() is this field as it is (see companies.Company.STR_COLUMN)

    def __str__(self):
        return self.title

    def clean(self):
        super().clean()
        if self.pipeline_id and self.stage_id and self.stage.pipeline_id != self.pipeline_id:
            raise ValidationError({"stage": _("This stage belongs to another pipeline.")})


class DealContact(models.Model):
    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="contact_links", verbose_name=_("deal"))
    contact = models.ForeignKey("contacts.Contact", on_delete=models.CASCADE, related_name="deal_links",
                                verbose_name=_("contact"))
    role = models.CharField(_("role"), max_length=150, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("deal contact")
        verbose_name_plural = _("deal contacts")
        ordering = ["pk"]
        constraints = [models.UniqueConstraint(fields=["deal", "contact"], name="deals_dealcontact_unique")]

    def __str__(self):
        return f"{self.deal} — {self.contact}"


class StageChange(models.Model):
    """Every move of a deal between stages, with who and when: funnel reports are built on it."""

    deal = models.ForeignKey(Deal, on_delete=models.CASCADE, related_name="stage_changes")
    from_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    to_stage = models.ForeignKey(Stage, on_delete=models.PROTECT, related_name="+")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    changed_at = models.DateTimeField(default=timezone.now)  # indexed with the deal below

    class Meta:
        verbose_name = _("stage change")
        verbose_name_plural = _("stage changes")
        ordering = ["-changed_at", "-pk"]
        indexes = [
            models.Index(fields=["deal", "changed_at"], name="deals_stagechange_deal_when"),
            # Moves in a period and the deals they moved, from the index alone (the reports' won / lost / stuck).
            models.Index(fields=["changed_at", "deal"], name="deals_stagechange_when_deal"),
        ]

    def __str__(self):
        return f"{self.deal}: {self.from_stage} → {self.to_stage}"


# Sharing one record with a colleague (django-guardian, direct foreign keys: see access/grants.py).
DealUserGrant, DealGroupGrant = grant_models("deals.Deal", "Deal")
