import time

from access.audit import client_ip

TOUCH_KEY = "_crm_seen"
TOUCH_EVERY = 60  # seconds: a working user's session is written at most once a minute


class SessionActivityMiddleware:
    """Tells the session its client (address, browser) and moves a logged-in user's session forward once a
    minute: its `last_activity` and its expiry (SESSION_COOKIE_AGE = the idle timeout) follow the user's work."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is not None:
            session.client_ip = client_ip(request)
            session.user_agent = request.META.get("HTTP_USER_AGENT", "")[:300]
            if getattr(request, "user", None) is not None and request.user.is_authenticated:
                now = int(time.time())
                if now - int(session.get(TOUCH_KEY) or 0) >= TOUCH_EVERY:
                    session[TOUCH_KEY] = now
        return self.get_response(request)
