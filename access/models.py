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

    STR_COLUMN = "name"  # str() is this field as it is (see companies.Company.STR_COLUMN)

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
    LOCKOUT = "lockout"
    UNLOCK = "unlock"
    TWOFACTOR_ENABLED = "2fa_enabled"
    TWOFACTOR_DISABLED = "2fa_disabled"
    TWOFACTOR_RESET = "2fa_reset"
    SESSIONS_ENDED = "sessions_ended"
    PASSWORD_CHANGED = "password_changed"
    API_REQUEST = "api_request"  # details: the token's id, the method and the path
    API_TOKEN_CREATED = "api_token_created"
    API_TOKEN_REVOKED = "api_token_revoked"
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
        (LOCKOUT, _("locked out after failed logins")),
        (UNLOCK, _("lockout lifted")),
        (TWOFACTOR_ENABLED, _("two-factor login turned on")),
        (TWOFACTOR_DISABLED, _("two-factor login turned off")),
        (TWOFACTOR_RESET, _("two-factor login reset")),
        (SESSIONS_ENDED, _("sessions ended")),
        (PASSWORD_CHANGED, _("password changed")),
        (API_REQUEST, _("API request")),
        (API_TOKEN_CREATED, _("API token made")),
        (API_TOKEN_REVOKED, _("API token revoked")),
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


# ---------------------------------------------------------------------------
# Roles: a matrix of levels per entity and action, assigned to users and departments.


class Level(models.IntegerChoices):
    """How far a right reaches; a larger value always includes the smaller ones (most permissive wins)."""

    NONE = 0, _("none")
    OWN = 1, _("own")
    DEPARTMENT = 2, _("department")
    SUBDEPARTMENTS = 3, _("subdepartments")
    ALL_OPEN = 4, _("all open")
    ALL = 5, _("all")


ANY_ENTITY = "*"  # the matrix row used for entities the role does not name (e.g. one added after the role)


class Role(models.Model):
    """A named matrix: `matrix[entity key][action] = Level`; the row "*" covers entities not listed.

    `is_default`: the role of every active user who has no role at all (directly or through a department),
    so a new employee can work before an administrator assigns anything. Untick it to give such users nothing.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    is_default = models.BooleanField(
        _("default role"), default=False,
        help_text=_("Given to every active user who has no role directly or through a department."),
    )
    matrix = models.JSONField(_("access matrix"), default=dict, blank=True)
    require_two_factor = models.BooleanField(
        _("requires two-factor login"), default=False,
        help_text=_("Users with this role must set up an authenticator app at their next login and cannot use "
                    "the CRM until they do."),
    )

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def level(self, entity_key, action):
        row = self.matrix.get(entity_key)
        if row is None or action not in row:
            row = self.matrix.get(ANY_ENTITY) or {}
        try:
            return int(row.get(action, Level.NONE))
        except (TypeError, ValueError):
            return Level.NONE


class RoleAssignment(models.Model):
    """A role given to one user or to a department (every member of the department gets it)."""

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="assignments", verbose_name=_("role"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True, related_name="role_assignments",
        verbose_name=_("user"),
    )
    department = models.ForeignKey(
        Department, on_delete=models.CASCADE, null=True, blank=True, related_name="role_assignments",
        verbose_name=_("department"),
    )

    class Meta:
        verbose_name = _("role assignment")
        verbose_name_plural = _("role assignments")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, department__isnull=True)
                | models.Q(user__isnull=True, department__isnull=False),
                name="access_assignment_user_xor_department",
            ),
            models.UniqueConstraint(fields=["role", "user"], name="access_assignment_user_unique"),
            models.UniqueConstraint(fields=["role", "department"], name="access_assignment_department_unique"),
        ]

    def __str__(self):
        return f"{self.role} → {self.user or self.department}"


class FieldRule(models.Model):
    """A field a role may not see (hidden) or not change (read-only) on one entity.

    `field` is a name as the screens use it: a model field ("tax_id", "owner"), a channel ("phone", "email"),
    or a custom field's key (stored in `custom_fields`), so later custom fields need no schema change.
    With several roles the most permissive wins: a field is hidden only if every role of the user hides it.
    """

    HIDDEN = "hidden"
    READ_ONLY = "read_only"
    MODE_CHOICES = [(HIDDEN, _("hidden")), (READ_ONLY, _("read-only"))]

    role = models.ForeignKey(Role, on_delete=models.CASCADE, related_name="field_rules", verbose_name=_("role"))
    entity = models.CharField(_("record type"), max_length=50)
    field = models.CharField(_("field"), max_length=100)
    mode = models.CharField(_("rule"), max_length=10, choices=MODE_CHOICES)

    class Meta:
        verbose_name = _("field rule")
        verbose_name_plural = _("field rules")
        ordering = ["role", "entity", "field"]
        constraints = [
            models.UniqueConstraint(fields=["role", "entity", "field"], name="access_fieldrule_unique"),
        ]

    def __str__(self):
        return f"{self.role}: {self.entity}.{self.field} {self.get_mode_display()}"
