"""The shared core: the base every entity inherits, and the lists and channels they share."""

from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey, GenericRelation
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from . import normalize

# ---------------------------------------------------------------------------
# Editable lists (sources, types, statuses, currencies, ...): admin-edited, seeded in three languages.


class EditableList(models.Model):
    code = models.SlugField(_("code"), max_length=50, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=100)
    name_ru = models.CharField(_("name (Russian)"), max_length=100, blank=True)
    name_uk = models.CharField(_("name (Ukrainian)"), max_length=100, blank=True)
    order = models.PositiveSmallIntegerField(_("order"), default=0)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        abstract = True
        ordering = ["order", "pk"]

    def __str__(self):
        return self.name

    @property
    def name(self):
        language = (get_language() or "en")[:2]
        return getattr(self, f"name_{language}", "") or self.name_en


class Source(EditableList):
    class Meta(EditableList.Meta):
        verbose_name = _("source")
        verbose_name_plural = _("sources")


class ClientType(EditableList):
    """Client/partner/supplier/competitor/other: used by companies and contacts."""

    class Meta(EditableList.Meta):
        verbose_name = _("client type")
        verbose_name_plural = _("client types")


class Industry(EditableList):
    class Meta(EditableList.Meta):
        verbose_name = _("industry")
        verbose_name_plural = _("industries")


class Currency(EditableList):
    """`code` is the ISO 4217 code in lower case (rub, uah, usd, eur)."""

    symbol = models.CharField(_("symbol"), max_length=8, blank=True)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta(EditableList.Meta):
        verbose_name = _("currency")
        verbose_name_plural = _("currencies")

    def __str__(self):
        return self.code.upper()


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=60, unique=True)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    STR_COLUMN = "name"  # str() is this field as it is (see companies.Company.STR_COLUMN)

    def __str__(self):
        return self.name


# ---------------------------------------------------------------------------
# Phones, emails, messengers and web links: one model for every entity.


class Communication(models.Model):
    class Channel(models.TextChoices):
        PHONE = "phone", _("phone")
        EMAIL = "email", _("email")
        MESSENGER = "messenger", _("messenger")
        WEB = "web", _("web link")

    class Kind(models.TextChoices):
        WORK = "work", _("work")
        MOBILE = "mobile", _("mobile")
        HOME = "home", _("home")
        OTHER = "other", _("other")
        TELEGRAM = "telegram", "Telegram"
        WHATSAPP = "whatsapp", "WhatsApp"
        VIBER = "viber", "Viber"
        SKYPE = "skype", "Skype"
        WEBSITE = "website", _("website")
        VK = "vk", _("VK")
        FACEBOOK = "facebook", "Facebook"
        LINKEDIN = "linkedin", "LinkedIn"
        INSTAGRAM = "instagram", "Instagram"

    KINDS_BY_CHANNEL = {
        Channel.PHONE: [Kind.WORK, Kind.MOBILE, Kind.HOME, Kind.OTHER],
        Channel.EMAIL: [Kind.WORK, Kind.HOME, Kind.OTHER],
        Channel.MESSENGER: [Kind.TELEGRAM, Kind.WHATSAPP, Kind.VIBER, Kind.SKYPE, Kind.OTHER],
        Channel.WEB: [Kind.WEBSITE, Kind.VK, Kind.FACEBOOK, Kind.LINKEDIN, Kind.INSTAGRAM, Kind.OTHER],
    }

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.WORK)
    value = models.CharField(_("value"), max_length=255)
    normalized = models.CharField(_("normalised value"), max_length=255, editable=False)
    is_primary = models.BooleanField(_("primary"), default=False)
    position = models.PositiveSmallIntegerField(default=0)
    history = HistoricalRecords()

    class Meta:
        verbose_name = _("communication")
        verbose_name_plural = _("communications")
        ordering = ["channel", "-is_primary", "position", "pk"]
        indexes = [
            models.Index(fields=["content_type", "object_id"], name="crm_comm_record"),
            models.Index(fields=["channel", "normalized"], name="crm_comm_normalized"),
        ]

    def __str__(self):
        return self.value

    def save(self, *args, **kwargs):
        self.value = (self.value or "").strip()
        self.normalized = self.normalize_value(self.channel, self.value)
        super().save(*args, **kwargs)

    @staticmethod
    def normalize_value(channel, value):
        if channel == Communication.Channel.PHONE:
            return normalize.normalize_phone(value)
        if channel == Communication.Channel.EMAIL:
            return normalize.normalize_email(value)
        if channel == Communication.Channel.WEB:
            return normalize.normalize_url(value)
        return (value or "").strip().casefold()

    @property
    def display(self):
        if self.channel == self.Channel.PHONE:
            return normalize.format_phone(self.value)
        return self.value

    @property
    def href(self):
        """A safe link for the value: tel:, mailto:, or http(s) only."""
        if self.channel == self.Channel.PHONE:
            return "tel:" + self.normalized
        if self.channel == self.Channel.EMAIL:
            return "mailto:" + self.value
        if self.channel == self.Channel.WEB:
            return self.value if self.value.lower().startswith(("http://", "https://")) else "https://" + self.value
        return ""


# ---------------------------------------------------------------------------
# The base of every entity.


class CRMQuerySet(models.QuerySet):
    def alive(self):
        return self.filter(deleted_at__isnull=True)

    def in_bin(self):
        return self.filter(deleted_at__isnull=False)

    def visible_to(self, user, action="read"):
        """Records `user` may do `action` on: the single access path for every screen and export."""
        from access.scopes import scope_q

        q = scope_q(user, self.model, action)
        if q is None:
            return self.none()
        return self.filter(q)

    def search(self, query, user=None):
        """Quick search by name, phone in any format and email; each entity names its text fields.

        With `user`, the fields their roles hide (access.fields) are left out and a linked record finds by its name
        only when they may read it, so a search cannot reveal either."""
        from .search import search_queryset

        hidden = ()
        if user is not None:
            from access.fields import hidden_fields

            hidden = hidden_fields(user, self.model.entity().key)
        return search_queryset(self, query, hidden, user=user)


class LiveManager(models.Manager.from_queryset(CRMQuerySet)):
    """Default manager: records in the bin are invisible everywhere unless asked for."""

    def get_queryset(self):
        return super().get_queryset().filter(deleted_at__isnull=True)


class CRMObject(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("responsible")
    )
    department = models.ForeignKey(
        "access.Department",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("department"),
        editable=False,
    )
    opened = models.BooleanField(
        _("open to everyone"), default=False, db_index=True, help_text=_("Visible to everyone whose role allows.")
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("updated by"),
    )
    custom_fields = models.JSONField(_("custom fields"), default=dict, blank=True, encoder=DjangoJSONEncoder)
    deleted_at = models.DateTimeField(_("deleted"), null=True, blank=True, editable=False, db_index=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        editable=False,
        related_name="+",
        verbose_name=_("deleted by"),
    )
    communications = GenericRelation(Communication)
    history = HistoricalRecords(inherit=True)

    objects = LiveManager()
    all_objects = CRMQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-created_at", "-pk"]
        indexes = [
            # Records created in a period, counted by the dashboard within any read scope (own / department /
            # opened) from the index alone: the live rows only, every column the count and the scope read.
            models.Index(fields=["created_at", "owner", "department", "opened"],
                         condition=models.Q(deleted_at__isnull=True), name="%(app_label)s_%(class)s_new"),
        ]

    # No save() logic: the write services (crm_site.services) set the department from the owner, write history
    # and announce the change, for one record or a batch alike.

    def get_absolute_url(self):
        return reverse(f"{self.entity().key}_detail", args=[self.pk])

    @classmethod
    def entity(cls):
        from .registry import registry

        return registry.for_model(cls)

    @property
    def is_deleted(self):
        return self.deleted_at is not None

    def channel_values(self, channel):
        # A list page's rows carry theirs, read for the page at once (crm_site.selectors.with_channels).
        items = getattr(self, "listed_channels", None)
        if items is None:
            items = self.communications.all()
        return [c for c in items if c.channel == channel]

    @property
    def phones(self):
        return self.channel_values(Communication.Channel.PHONE)

    @property
    def emails(self):
        return self.channel_values(Communication.Channel.EMAIL)

    @property
    def messengers(self):
        return self.channel_values(Communication.Channel.MESSENGER)

    @property
    def web_links(self):
        return self.channel_values(Communication.Channel.WEB)

    @property
    def primary_phone(self):
        phones = self.phones
        return phones[0] if phones else None

    @property
    def primary_email(self):
        emails = self.emails
        return emails[0] if emails else None


def full_name(last_name, first_name, middle_name=""):
    """Russian order: Фамилия Имя Отчество."""
    return " ".join(part for part in (last_name, first_name, middle_name) if part)
