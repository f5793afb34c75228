"""A custom file field's download, and the pages of a background export (progress, then the file)."""

import mimetypes

from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header

from crm_site import selectors

from .models import CustomField, ExportJob


@login_required
def file_download(request, field_pk, record_pk):
    """The stored file of a custom file field, to users who may read the record and see the field."""
    from access.fields import hidden_fields

    field = CustomField.objects.filter(pk=field_pk, type="file").first()
    if field is None:
        raise Http404
    obj = selectors.record_for_user_or_404(request.user, field.entity, record_pk)
    if field.name in hidden_fields(request.user, field.entity):
        raise Http404
    value = (obj.custom_fields or {}).get(field.code)
    if not isinstance(value, dict) or not value.get("name") or not default_storage.exists(value["name"]):
        raise Http404
    filename = value.get("filename") or value["name"].rsplit("/", 1)[-1]
    content_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
    response = FileResponse(default_storage.open(value["name"], "rb"), content_type=content_type)
    # Always a download: an uploaded HTML or SVG must not run in the CRM's origin.
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


def _job_for(request, pk):
    """The user's own export job; anybody else's answers 404, like a record out of scope."""
    job = ExportJob.objects.filter(pk=pk, user=request.user).first()
    if job is None:
        raise Http404
    return job


@login_required
def export_status(request, pk):
    job = _job_for(request, pk)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"status": job.status, "done": job.done, "total": job.total, "percent": job.percent,
                             "expired": job.expired})
    template = "customfields/export_progress.html" if request.htmx else "customfields/export_status.html"
    return render(request, template, {"job": job})


@login_required
def export_download(request, pk):
    job = _job_for(request, pk)
    if job.status != ExportJob.DONE or job.expired or not job.file or not default_storage.exists(job.file):
        raise Http404
    from .export import content_type_of

    response = FileResponse(default_storage.open(job.file, "rb"), as_attachment=True, filename=job.filename,
                            content_type=content_type_of(job.file_format))
    response["Cache-Control"] = "no-store"
    return response
