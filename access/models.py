from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A node of the company's department tree."""

    name = models.CharField(_("name"), max_length=150)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )
    head = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="headed_departments",
        verbose_name=_("head"),
    )
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="departments", verbose_name=_("members")
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def subtree_ids(self):
        """Ids of this department and every department below it."""
        ids, frontier = {self.pk}, [self.pk]
        while frontier:
            frontier = list(Department.objects.filter(parent_id__in=frontier).values_list("pk", flat=True))
            frontier = [pk for pk in frontier if pk not in ids]
            ids.update(frontier)
        return ids


class Membership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    department = models.ForeignKey(Department, on_delete=models.CASCADE, related_name="memberships")
    is_primary = models.BooleanField(_("primary department"), default=False)

    class Meta:
        verbose_name = _("department membership")
        verbose_name_plural = _("department memberships")
        constraints = [models.UniqueConstraint(fields=["user", "department"], name="access_membership_unique")]

    def __str__(self):
        return f"{self.user} @ {self.department}"


class AuditLog(models.Model):
    """Security-relevant events: logins, role and permission changes, exports, imports, purges.

    Rows are written through `access.audit.audit_log()` and never edited. `actor_name` keeps the login
    after the user is deleted; a purged record is logged without its personal data.
    """

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    ROLE_CHANGED = "role_changed"
    ASSIGNMENT_CHANGED = "assignment_changed"
    GRANT_ADDED = "grant_added"
    GRANT_REMOVED = "grant_removed"
    EXPORT = "export"
    IMPORT = "import"
    PURGE = "purge"
    ACTION_CHOICES = [
        (LOGIN, _("login")),
        (LOGIN_FAILED, _("failed login")),
        (LOGOUT, _("logout")),
        (ROLE_CHANGED, _("role changed")),
        (ASSIGNMENT_CHANGED, _("role assignment changed")),
        (GRANT_ADDED, _("access granted")),
        (GRANT_REMOVED, _("access revoked")),
        (EXPORT, _("export")),
        (IMPORT, _("import")),
        (PURGE, _("permanent deletion")),
    ]

    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+",
        verbose_name=_("who"),
    )
    actor_name = models.CharField(_("login"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=32, choices=ACTION_CHOICES, db_index=True)
    content_type = models.ForeignKey(
        "contenttypes.ContentType", on_delete=models.SET_NULL, null=True, blank=True, verbose_name=_("record type")
    )
    object_id = models.PositiveBigIntegerField(_("record id"), null=True, blank=True)
    object_repr = models.CharField(_("record"), max_length=255, blank=True)
    count = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    details = models.JSONField(_("details"), default=dict, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["actor", "at"], name="access_audit_actor_at")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.get_action_display()}"
