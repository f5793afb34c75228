"""django-axes' database handler with two limits: N failures for one username, M from one client address.

Axes compares one number with one limit (AXES_FAILURE_LIMIT = the username limit); `get_failures()` here
answers the username's failures, or that limit as soon as the address has reached its own
(settings.CRM_LOGIN_FAILURE_LIMIT_IP), so an office behind one NAT address is not locked out by five typos.
"""

from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username, get_lockout_parameters
from django.conf import settings
from django.db.models import Sum


def _count(attempts):
    return attempts.aggregate(total=Sum("failures_since_start"))["total"] or 0


class LockoutHandler(AxesDatabaseHandler):
    def get_failures(self, request, credentials=None):
        user_limit = settings.CRM_LOGIN_FAILURE_LIMIT
        parameters = get_lockout_parameters(request, credentials)
        by_user = 0
        for parameter, attempts in zip(parameters, self.get_user_attempts(request, credentials), strict=True):
            if parameter == "ip_address":
                if _count(attempts) >= settings.CRM_LOGIN_FAILURE_LIMIT_IP:
                    return max(user_limit, by_user)
            elif parameter == "username":
                if get_client_username(request, credentials):
                    by_user = max(by_user, _count(attempts))
            else:
                by_user = max(by_user, _count(attempts))
        return by_user
