"""Timeline entries: what people did (notes, calls, emails, meetings, tasks) and what the system recorded.

One entry belongs to several records through EntryLink (a call on a deal also shows on its company and
contacts), so who may see an entry follows those records (timeline.selectors.visible_entries).
"""

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm_site import events


class Kind(models.TextChoices):
    """What people add; system entries take their kind from crm_site.events (an open registry: an app adds its
    own kinds there, e.g. a lead's "converted", and no migration of the timeline is needed)."""

    NOTE = "note", _("note")
    CALL = "call", _("call")
    EMAIL = "email", _("email")
    MEETING = "meeting", _("meeting")
    TASK = "task", _("task")
    # The core's own system kinds, named here for readability.
    CREATED = events.CREATED, _("created")
    CHANGED = events.CHANGED, _("changed")
    OWNER_CHANGED = events.OWNER_CHANGED, _("responsible changed")
    LINKED = events.LINKED, _("linked")
    UNLINKED = events.UNLINKED, _("unlinked")
    MERGED = events.MERGED, _("merged")
    IMPORTED = events.IMPORTED, _("imported")
    DELETED = events.DELETED, _("deleted")
    RESTORED = events.RESTORED, _("restored")


USER_KINDS = (Kind.NOTE, Kind.CALL, Kind.EMAIL, Kind.MEETING, Kind.TASK)


def entry_kinds():
    """Every kind an entry can have: what people add, then every registered event kind."""
    return [(str(kind.value), kind.label) for kind in USER_KINDS] + [
        (kind.code, kind.label) for kind in events.kinds() if kind.code != events.PURGED]


def is_system_kind(code):
    return code not in USER_KINDS and events.is_kind(code)

# The fields a person fills in for each kind (the add/edit forms are built from this).
KIND_FIELDS = {
    Kind.NOTE: ("body",),
    Kind.CALL: ("direction", "phone", "duration", "result", "body"),
    Kind.EMAIL: ("direction", "subject", "email_from", "email_to", "body"),
    Kind.MEETING: ("subject", "start", "end", "place", "participants", "body"),
    Kind.TASK: ("subject", "deadline", "responsible", "body"),
}


class Direction(models.TextChoices):
    INCOMING = "in", _("incoming")
    OUTGOING = "out", _("outgoing")


class TaskState(models.TextChoices):
    PLANNED = "planned", _("planned")
    DONE = "done", _("done")
    CANCELLED = "cancelled", _("cancelled")


class Entry(models.Model):
    kind = models.CharField(_("kind"), max_length=20, choices=entry_kinds, db_index=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("author"),
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    subject = models.CharField(_("subject"), max_length=255, blank=True)
    body = models.TextField(_("text"), blank=True)
    # call / email
    direction = models.CharField(_("direction"), max_length=3, choices=Direction.choices, blank=True)
    phone = models.CharField(_("phone"), max_length=50, blank=True)
    duration = models.PositiveIntegerField(_("duration, min"), null=True, blank=True)
    result = models.CharField(_("result"), max_length=255, blank=True)
    email_from = models.CharField(_("from"), max_length=255, blank=True)
    email_to = models.CharField(_("to"), max_length=500, blank=True)
    # meeting
    start = models.DateTimeField(_("start"), null=True, blank=True)
    end = models.DateTimeField(_("end"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=255, blank=True)
    participants = models.TextField(_("participants"), blank=True)
    # task
    deadline = models.DateTimeField(_("deadline"), null=True, blank=True)
    responsible = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("responsible"),
    )
    state = models.CharField(_("state"), max_length=10, choices=TaskState.choices, blank=True)
    done_at = models.DateTimeField(_("done"), null=True, blank=True)
    # Durable markers: each reminder is sent once, whatever number of workers run (timeline.services).
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    overdue_notified_at = models.DateTimeField(null=True, blank=True, editable=False)
    # A follow-up task made by a rule: "<rule>:<content type>:<object id>", unique among planned tasks.
    follow_up_rule = models.ForeignKey(
        "FollowUpRule", on_delete=models.SET_NULL, null=True, blank=True, related_name="tasks", editable=False
    )
    # NULL (not ""): tasks that are not follow-ups never collide in the unique constraint below.
    follow_up_key = models.CharField(max_length=100, null=True, blank=True, editable=False)  # noqa: DJ001
    # System entries: what happened (e.g. {"changes": [{"field", "old", "new"}]}, names of stages, users).
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline entries")
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["responsible", "state", "deadline"], name="timeline_task_due"),
            models.Index(fields=["kind", "state", "deadline"], name="timeline_kind_due"),
            # The dashboard's activities (crm_site.reports) read these alone, without the table: entries by kind in
            # a period with their author, tasks done in a period with their responsible (the id for the links).
            models.Index(fields=["kind", "created_at", "author", "id"], name="timeline_kind_created"),
            models.Index(fields=["kind", "state", "done_at", "responsible", "id"], name="timeline_kind_done_by"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["follow_up_key"], condition=Q(state="planned"), name="timeline_one_open_follow_up"
            ),
        ]

    def __str__(self):
        return self.subject or self.get_kind_display()

    @property
    def is_system(self):
        return is_system_kind(self.kind)

    @property
    def kind_text(self):
        """The lead-in of a system entry ("Record created.", "Linked:"), from the event kind's registry."""
        if not events.is_kind(self.kind):
            return ""
        kind = events.kind(self.kind)
        return kind.text if kind.text is not None else str(kind.label).capitalize()

    @property
    def transition_field(self):
        """The field a system entry shows moving from one value to another (owner, stage, status), or ""."""
        return events.kind(self.kind).field if events.is_kind(self.kind) else ""

    @property
    def is_task(self):
        return self.kind == Kind.TASK

    @property
    def is_planned(self):
        return self.kind == Kind.TASK and self.state == TaskState.PLANNED

    @property
    def is_overdue(self):
        return self.is_planned and self.deadline is not None and self.deadline < timezone.now()


class EntryLink(models.Model):
    """An entry belongs to a record of any registered entity.

    On PostgreSQL a link also carries copies of what decides who may read its record (owner, department, "open to
    everyone", not in the bin) and of its entry's kind, dates and people, so the visibility of an entry and the
    dashboard's activity counts are read from the links alone. The database keeps the copies current itself
    (triggers, timeline.link_copies), whatever path writes the record, the entry or the link; nothing in Python
    sets them. Elsewhere (the SQLite demo) the copies are not kept and visibility is checked on the records."""

    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, related_name="links")
    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE, related_name="+")
    object_id = models.PositiveBigIntegerField()
    # Copies of the linked record (kept by the database; False / NULL until then: an unfilled link shows nothing).
    record_owner_id = models.IntegerField(null=True, editable=False)
    record_department_id = models.IntegerField(null=True, editable=False)
    record_opened = models.BooleanField(default=False, editable=False)
    record_live = models.BooleanField(default=False, editable=False)
    # Copies of the entry.
    entry_kind = models.CharField(max_length=20, blank=True, default="", editable=False)
    entry_created_at = models.DateTimeField(null=True, editable=False)
    entry_author_id = models.IntegerField(null=True, editable=False)
    entry_state = models.CharField(max_length=10, blank=True, default="", editable=False)
    entry_done_at = models.DateTimeField(null=True, editable=False)
    entry_responsible_id = models.IntegerField(null=True, editable=False)

    class Meta:
        verbose_name = _("timeline link")
        verbose_name_plural = _("timeline links")
        constraints = [
            models.UniqueConstraint(fields=["entry", "content_type", "object_id"], name="timeline_link_unique"),
        ]
        indexes = [
            models.Index(fields=["content_type", "object_id", "entry"], name="timeline_link_record"),
            # Whether an entry is visible: its live links with everything the scope reads (an index-only probe).
            models.Index(fields=["entry"], name="timeline_link_entry_scope", condition=Q(record_live=True),
                         include=["content_type", "object_id", "record_owner_id", "record_department_id",
                                  "record_opened"]),
            # The dashboard's activities: entries of a kind in a period with their author, and tasks done in a
            # period with their responsible, counted over the visible links from the index alone.
            models.Index(fields=["entry_kind", "entry_created_at"], name="timeline_link_activity",
                         condition=Q(record_live=True),
                         include=["entry_author_id", "entry", "content_type", "object_id", "record_owner_id",
                                  "record_department_id", "record_opened"]),
            models.Index(fields=["entry_kind", "entry_state", "entry_done_at"], name="timeline_link_task_done",
                         condition=Q(record_live=True),
                         include=["entry_responsible_id", "entry", "content_type", "object_id", "record_owner_id",
                                  "record_department_id", "record_opened"]),
        ]

    def __str__(self):
        return f"{self.entry_id} → {self.content_type_id}:{self.object_id}"


class Notification(models.Model):
    class Reason(models.TextChoices):
        REMINDER = "reminder", _("deadline soon")
        OVERDUE = "overdue", _("overdue")
        FOLLOW_UP = "follow_up", _("follow-up")
        OTHER = "other", _("other")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    text = models.CharField(_("text"), max_length=500)
    link = models.CharField(_("link"), max_length=500, blank=True)
    created = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("read at"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices, default=Reason.OTHER)
    entry = models.ForeignKey(Entry, on_delete=models.CASCADE, null=True, blank=True, related_name="notifications")
    due = models.DateTimeField(_("deadline"), null=True, blank=True)  # the deadline a reminder was about

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created", "-pk"]
        indexes = [models.Index(fields=["user", "read_at"], name="timeline_notif_unread")]
        constraints = [
            # The second line of defence against a reminder sent twice.
            models.UniqueConstraint(
                fields=["entry", "reason", "user", "due"], condition=Q(reason__in=["reminder", "overdue"]),
                name="timeline_notification_once",
            ),
        ]

    def __str__(self):
        return self.text


class FollowUpRule(models.Model):
    """E.g. "a deal in an open stage with no activity for 7 days gets a follow-up task for its owner"."""

    class StageSemantic(models.TextChoices):
        ANY = "", _("any")
        IN_PROGRESS = "progress", _("in progress")
        WON = "won", _("won")
        LOST = "lost", _("lost")

    name = models.CharField(_("name"), max_length=150)
    entity = models.CharField(_("entity"), max_length=50, help_text=_("A registered entity: contact, company, lead, deal…"))
    inactive_days = models.PositiveSmallIntegerField(_("no activity for, days"), default=7)
    stage_semantic = models.CharField(
        _("only in stages that are"), max_length=10, choices=StageSemantic.choices, blank=True,
        help_text=_("For entities with stages (deals)."),
    )
    task_title = models.CharField(
        _("task title"), max_length=255, default="Follow up: {record}",
        help_text=_("{record} is replaced by the record's name, {days} by the number of days."),
    )
    deadline_days = models.PositiveSmallIntegerField(_("deadline in working days"), default=1)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("follow-up rule")
        verbose_name_plural = _("follow-up rules")
        ordering = ["name", "pk"]

    def __str__(self):
        return self.name

    def clean(self):
        from django.core.exceptions import ValidationError

        from crm_site.registry import registry

        if self.entity not in registry:
            raise ValidationError({"entity": _("Choose one of: %(keys)s.") % {"keys": ", ".join(registry.keys())}})
        try:
            self.task_title.format(record="x", days=1)
        except (KeyError, IndexError, ValueError):
            raise ValidationError({"task_title": _("Only {record} and {days} may be used in braces.")}) from None
