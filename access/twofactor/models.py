"""Recovery codes as a django-otp device: each code stored as its SHA-256 digest, each accepted once.

The codes are random (10 characters of a 32-letter alphabet, 50 bits), so a plain digest is enough: nothing
to guess from it, and a lookup by digest needs no per-code hashing of every candidate.
"""

import hashlib
import secrets

from django.conf import settings
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin

ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper without doubt


def normalize_code(value):
    return "".join(ch for ch in str(value).lower() if ch.isalnum())


def digest(value):
    return hashlib.sha256(normalize_code(value).encode()).hexdigest()


class RecoveryCodeDevice(ThrottlingMixin, Device):
    class Meta:
        verbose_name = _("recovery codes")
        verbose_name_plural = _("recovery codes")

    def get_throttle_factor(self):
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    def generate_codes(self, count=None):
        """Replace the codes with new ones; returns them in clear text (the only time they exist so)."""
        count = count or settings.CRM_RECOVERY_CODES
        codes = ["".join(secrets.choice(ALPHABET) for _ in range(10)) for _ in range(count)]
        with transaction.atomic():
            self.codes.all().delete()
            RecoveryCode.objects.bulk_create([RecoveryCode(device=self, digest=digest(code)) for code in codes])
        return [f"{code[:5]}-{code[5:]}" for code in codes]

    def remaining(self):
        return self.codes.filter(used_at__isnull=True).count()

    def verify_token(self, token):
        allowed, _info = self.verify_is_allowed()
        if not allowed:
            return False
        code = normalize_code(token)
        used = bool(code) and RecoveryCode.objects.filter(
            device=self, digest=digest(code), used_at__isnull=True).update(used_at=timezone.now()) == 1
        if used:
            self.throttle_reset()
        else:
            self.throttle_increment()
        return used


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    digest = models.CharField(max_length=64, db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("recovery code")
        verbose_name_plural = _("recovery codes")

    def __str__(self):
        return f"{self.device.user} #{self.pk}"
