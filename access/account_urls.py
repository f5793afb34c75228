"""/accounts/: login, second factor, password change and reset, sessions (mounted by crm_site/urls.py)."""

from django.contrib.auth import views as auth_views
from django.urls import path

from .sessions import views as session_views
from .twofactor import views as twofactor_views

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("password/", session_views.PasswordChangeView.as_view(), name="password_change"),
    path("password/done/", auth_views.PasswordChangeDoneView.as_view(), name="password_change_done"),
    path("password/reset/", auth_views.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth_views.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", session_views.PasswordResetConfirmView.as_view(),
         name="password_reset_confirm"),
    path("password/reset/done/", auth_views.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("two-factor/", twofactor_views.settings_page, name="twofactor"),
    path("two-factor/verify/", twofactor_views.verify, name="twofactor_verify"),
    path("two-factor/set-up/", twofactor_views.enrol, name="twofactor_enrol"),
    path("two-factor/recovery-codes/", twofactor_views.recovery_codes, name="twofactor_recovery_codes"),
    path("two-factor/off/", twofactor_views.disable, name="twofactor_disable"),
    path("sessions/", session_views.session_list, name="session_list"),
    path("sessions/end-others/", session_views.sessions_end_others, name="sessions_end_others"),
    path("sessions/<str:public_id>/end/", session_views.session_end, name="session_end"),
]
