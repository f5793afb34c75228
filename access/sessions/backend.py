"""SESSION_ENGINE: Django's database sessions in access_sessions.UserSession (user, address, browser)."""

from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.utils import timezone


class SessionStore(DBStore):
    client_ip = None  # set per request by SessionActivityMiddleware
    user_agent = ""

    @classmethod
    def get_model_class(cls):
        from .models import UserSession

        return UserSession

    def create_model_instance(self, data):
        obj = super().create_model_instance(data)
        user_id = data.get(SESSION_KEY)
        obj.user_id = int(user_id) if user_id is not None and str(user_id).isdigit() else None
        obj.ip = self.client_ip
        obj.user_agent = (self.user_agent or "")[:300]
        obj.last_activity = timezone.now()
        return obj
