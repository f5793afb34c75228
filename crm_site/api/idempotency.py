"""`Idempotency-Key` on POST / PATCH: the first response is kept (per user and key) and a retry gets it again,
with `Idempotent-Replayed: true`; nothing is written twice. The key row is inserted first, in the request's
transaction, so a concurrent retry waits on the unique index and then reads the finished response. The same key
with another request (method, path or body) answers 422."""

import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from rest_framework.response import Response

from .models import IdempotencyRecord

HEADER = "Idempotency-Key"
KEEP_HOURS = 24


def fingerprint(request):
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def run_idempotent(request, handler):
    key = request.headers.get(HEADER)
    if not key:
        return handler()
    if len(key) > 255 or not key.isprintable():
        return Response({HEADER: [_("Give a key of at most 255 printable characters.")]}, status=400)
    print_ = fingerprint(request)
    with transaction.atomic():
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(user=request.user, key=key, fingerprint=print_)
        except IntegrityError:
            record = IdempotencyRecord.objects.select_for_update().get(user=request.user, key=key)
            if record.fingerprint != print_:
                return Response({"detail": _("This Idempotency-Key was used for another request.")}, status=422)
            return Response(record.body, status=record.status, headers={**record.headers,
                                                                         "Idempotent-Replayed": "true"})
        response = handler()
        if response.status_code >= 500:
            transaction.set_rollback(True)
            return response
        record.status = response.status_code
        record.body = response.data
        record.headers = {name: response[name] for name in ("ETag", "Location") if response.has_header(name)}
        record.save(update_fields=["status", "body", "headers"])
        return response


def purge_old(now=None):
    cutoff = (now or timezone.now()) - timedelta(hours=KEEP_HOURS)
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff).delete()[0]
