from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from . import tokens
from .models import ApiToken, ExternalKey, TokenRight


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    """Tokens of every user: revoke here; make one for a user on their API tokens page (the link below)."""

    list_display = ("name", "user", "prefix", "created_at", "expires_at", "last_used_at", "use_count", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "user__username")
    readonly_fields = ("user", "prefix", "scopes", "created_at", "created_by", "last_used_at", "use_count",
                       "revoked_at")
    fields = ("name", "user", "prefix", "scopes", "expires_at", "created_at", "created_by", "last_used_at",
              "use_count", "revoked_at")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False  # made on /api/tokens/?user=<id>, where the key is shown once

    @admin.action(description=_("Revoke"))
    def revoke(self, request, queryset):
        for token in queryset:
            tokens.token_revoke(actor=request.user, token=token)
        self.message_user(request, _("Revoked."), messages.SUCCESS)


@admin.register(TokenRight)
class TokenRightAdmin(admin.ModelAdmin):
    list_display = ("role",)


@admin.register(ExternalKey)
class ExternalKeyAdmin(admin.ModelAdmin):
    list_display = ("source", "external_id", "content_type", "object_id")
    search_fields = ("external_id",)
    list_filter = ("source",)
