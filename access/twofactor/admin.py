"""The Django admin behind the CRM's own login and second factor; the user admin resets 2FA and ends sessions."""

from urllib.parse import quote

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.db.models import Exists, OuterRef
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django_otp.plugins.otp_totp.models import TOTPDevice

from access.sessions.services import sessions_end_all

from . import services


@login_not_required
def admin_login(request, extra_context=None):
    """/admin/login/ is the CRM's login (password, then the code): one way in, one lockout, one second factor."""
    target = request.GET.get("next") or reverse("admin:index")
    return redirect(f"{reverse('login')}?next={quote(target)}")


admin.site.login = admin_login

# The authenticator's secret is the user's alone: no admin page shows it (a reset removes the device instead).
if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)

User = get_user_model()
BaseUserAdmin = type(admin.site._registry[User]) if admin.site.is_registered(User) else admin.ModelAdmin


class UserAdmin(BaseUserAdmin):
    actions = [*(BaseUserAdmin.actions or []), "reset_two_factor", "end_sessions"]

    list_display = (*BaseUserAdmin.list_display, "two_factor")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            has_two_factor=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)))

    @admin.display(description=_("two-factor login"), boolean=True, ordering="has_two_factor")
    def two_factor(self, obj):
        return getattr(obj, "has_two_factor", None)

    @admin.action(description=_("Reset two-factor login"), permissions=["change"])
    def reset_two_factor(self, request, queryset):
        for user in queryset:
            services.twofactor_reset(user=user, request=request)
        self.message_user(request, ngettext(
            "Two-factor login reset for %(count)d user.", "Two-factor login reset for %(count)d users.",
            len(queryset)) % {"count": len(queryset)}, messages.SUCCESS)

    @admin.action(description=_("End all sessions (log out everywhere)"), permissions=["change"])
    def end_sessions(self, request, queryset):
        count = sum(sessions_end_all(user=user, request=request, reason="admin") for user in queryset
                    if user.pk != request.user.pk)
        self.message_user(request, ngettext("%(count)d session ended.", "%(count)d sessions ended.", count)
                          % {"count": count}, messages.SUCCESS)


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, UserAdmin)
