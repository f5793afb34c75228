from django.conf import settings
from django.shortcuts import render


def cooloff_minutes():
    return max(1, int(settings.AXES_COOLOFF_TIME.total_seconds() // 60))


def locked_out(request, original_response=None, credentials=None):
    """django-axes' lockout response: the same words whether or not the username exists (HTTP 429)."""
    return render(request, "registration/locked_out.html", {"minutes": cooloff_minutes()}, status=429)
