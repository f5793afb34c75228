from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    """django-axes' check before any password is looked at: a locked-out username or address is refused.

    Only a web request can be locked out; `authenticate()` called without one (a shell, a management command,
    the test client's `login()`) has no client to count failures for and goes on to the password check.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
