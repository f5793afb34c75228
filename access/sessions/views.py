from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from access.audit import audit_log
from access.models import AuditLog

from . import services


def session_list(request):
    current = request.session.session_key
    rows = [{"id": s.public_id, "device": services.describe_device(s.user_agent), "ip": s.ip,
             "last_activity": s.last_activity, "current": s.session_key == current}
            for s in services.sessions_of(request.user)]
    return render(request, "access/sessions.html", {"sessions": rows, "others": sum(not r["current"] for r in rows)})


@require_POST
def session_end(request, public_id):
    if request.session.session_key and public_id == _public_id(request.session.session_key):
        logout(request)
        return redirect("login")
    if not services.session_end(user=request.user, public_id=public_id, request=request):
        raise Http404
    messages.success(request, _("The session has ended."))
    return redirect("session_list")


@require_POST
def sessions_end_others(request):
    count = services.sessions_end_others(user=request.user, keep_key=request.session.session_key, request=request)
    messages.success(request, ngettext("%(count)d other session ended.", "%(count)d other sessions ended.", count)
                     % {"count": count})
    return redirect("session_list")


def _public_id(key):
    from .models import UserSession

    return UserSession(session_key=key).public_id


class PasswordChangeView(auth_views.PasswordChangeView):
    """Django's, and then every other session of the user ends (a stolen session does not outlive the change)."""

    success_url = reverse_lazy("password_change_done")

    def form_valid(self, form):
        response = super().form_valid(form)  # keeps this session (update_session_auth_hash gives it a new key)
        services.sessions_end_others(user=form.user, keep_key=self.request.session.session_key,
                                     request=self.request, reason="password_changed")
        audit_log(AuditLog.PASSWORD_CHANGED, request=self.request, obj=form.user)
        return response


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    """Django's reset by the link in the e-mail; every session of the user ends."""

    success_url = reverse_lazy("password_reset_complete")

    def form_valid(self, form):
        response = super().form_valid(form)
        services.sessions_end_all(user=form.user, request=self.request, reason="password_reset")
        audit_log(AuditLog.PASSWORD_CHANGED, request=self.request, obj=form.user, actor_name=form.user.get_username(),
                  details={"reset_by_email": True})
        return response
