"""Errors as JSON: a service's ValidationError per field (400), a stale version (409 with the changed fields),
Django's PermissionDenied (403) and Http404 (404), the rest as DRF answers them."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from crm_site.record_writes import VersionConflict


def validation_body(error):
    if isinstance(error, VersionConflict):
        return {"detail": error.messages[0], "code": "version", "changed_fields": [str(f) for f in error.fields]}
    if hasattr(error, "error_dict"):
        return {name: [str(m) for m in messages] for name, messages in error.message_dict.items()}
    return {"non_field_errors": [str(m) for m in error.messages]}


def error_response(error):
    """(status, body) of an error a service raised."""
    if isinstance(error, VersionConflict):
        return status.HTTP_409_CONFLICT, validation_body(error)
    if isinstance(error, DjangoValidationError):
        return status.HTTP_400_BAD_REQUEST, validation_body(error)
    if isinstance(error, PermissionDenied):
        return status.HTTP_403_FORBIDDEN, {"detail": str(error) or _("You may not do this.")}
    if isinstance(error, Http404):
        return status.HTTP_404_NOT_FOUND, {"detail": "Not found."}
    raise error


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        code, body = error_response(exc)
        return Response(body, status=code)
    return drf_exception_handler(exc, context)
