"""Big exports in the background: above `CRM_EXPORT_BACKGROUND_ROWS` rows the list's export becomes an ExportJob
that a Celery task writes to Django's storage chunk by chunk (flat memory), with its progress; the file is then
downloadable only by the user who asked, until `CRM_EXPORT_LINK_HOURS` have passed."""

import tempfile
import uuid
from datetime import timedelta

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import QueryDict
from django.utils import timezone, translation

from crm_site.export_formats import (
    VCARD_CONTENT_TYPE,
    XLSX_CONTENT_TYPE,
    vcard_chunks,
    write_xlsx,
)

from .models import ExportJob

PROGRESS_EVERY = 1000


def background_threshold():
    return int(getattr(settings, "CRM_EXPORT_BACKGROUND_ROWS", 10_000))


def content_type_of(file_format):
    return {"csv": "text/csv; charset=utf-8", "xlsx": XLSX_CONTENT_TYPE, "vcf": VCARD_CONTENT_TYPE}[file_format]


def start_export(*, user, entity, file_format, params):
    """An ExportJob for the list query `params` (a QueryDict), queued once the transaction commits."""
    from .tasks import run_export

    data = {key: params.getlist(key) for key in params if key != "format"}
    job = ExportJob.objects.create(user=user, entity=entity.key, file_format=file_format, params=data,
                                   language=translation.get_language() or settings.LANGUAGE_CODE)
    transaction.on_commit(lambda: run_export.delay(job.pk))
    return job


def _counting(rows, job):
    done = 0
    for row in rows:
        done += 1
        if done % PROGRESS_EVERY == 0:
            ExportJob.objects.filter(pk=job.pk).update(done=done)
        yield row
    ExportJob.objects.filter(pk=job.pk).update(done=done)


def run(job):
    """Write the job's file (the same checks, rows, columns and audit entry as a direct export)."""
    from crm_site import selectors
    from crm_site.export import records_export
    from crm_site.registry import registry

    entity = registry[job.entity]
    params = QueryDict(mutable=True)
    for key, values in (job.params or {}).items():
        params.setlist(key, [str(value) for value in values])
    with translation.override(job.language):
        listed = selectors.entity_list(user=job.user, entity=entity, params=params)
        export = records_export(user=job.user, entity=entity, file_format=job.file_format,
                                queryset=listed.queryset, details={"query": listed.query, "sort": listed.sort,
                                                                   "background": True})
        ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.RUNNING, total=export.count)
        with tempfile.TemporaryFile() as file:
            rows = _counting(export.rows(), job) if job.file_format != "csv" else None
            if job.file_format == "xlsx":
                write_xlsx(header=export.header, rows=rows, file=file,
                           title=str(entity.verbose_name_plural).capitalize())
            elif job.file_format == "vcf":
                from crm_site.export import vcard_kind

                for chunk in vcard_chunks(columns=export.columns, rows=rows, kind=vcard_kind(entity)):
                    file.write(chunk)
            else:
                # The export's own CSV (on PostgreSQL the database makes the cells), its progress per chunk.
                def progress(done):
                    ExportJob.objects.filter(pk=job.pk).update(done=done)

                for chunk in export.csv_chunks(on_rows=progress):
                    file.write(chunk)
            file.seek(0)
            path = default_storage.save(f"exports/{uuid.uuid4().hex}/{export.filename}", File(file))
    hours = int(getattr(settings, "CRM_EXPORT_LINK_HOURS", 24))
    ExportJob.objects.filter(pk=job.pk).update(status=ExportJob.DONE, file=path, filename=export.filename,
                                               expires_at=timezone.now() + timedelta(hours=hours))


def purge_expired(now=None):
    """Delete the files of expired exports (and jobs older than a week). Idempotent."""
    now = now or timezone.now()
    removed = 0
    for job in ExportJob.objects.filter(expires_at__lte=now).exclude(file=""):
        if default_storage.exists(job.file):
            default_storage.delete(job.file)
        ExportJob.objects.filter(pk=job.pk).update(file="")
        removed += 1
    ExportJob.objects.filter(created_at__lt=now - timedelta(days=7)).delete()
    return removed
