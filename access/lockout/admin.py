"""Unlocking in the admin: deleting a failed-attempt row (one or many) lifts its lockout, with an audit log row."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .services import lockout_lift


class UnlockingAccessAttemptAdmin(AccessAttemptAdmin):
    actions = ["unlock", *AccessAttemptAdmin.actions]

    @admin.action(description=_("Unlock: forget these failed attempts"), permissions=["delete"])
    def unlock(self, request, queryset):
        count = lockout_lift(queryset=queryset, request=request)
        self.message_user(request, ngettext("%(count)d lockout lifted.", "%(count)d lockouts lifted.", count)
                          % {"count": count}, messages.SUCCESS)

    def delete_model(self, request, obj):
        lockout_lift(queryset=AccessAttempt.objects.filter(pk=obj.pk), request=request)

    def delete_queryset(self, request, queryset):
        lockout_lift(queryset=queryset, request=request)


if admin.site.is_registered(AccessAttempt):
    admin.site.unregister(AccessAttempt)
admin.site.register(AccessAttempt, UnlockingAccessAttemptAdmin)

