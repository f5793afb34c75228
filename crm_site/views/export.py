"""`<prefix>/export/?format=csv|xlsx|vcf` plus the list's own query string (q, filters, sort): the list as a file.
Above CRM_EXPORT_BACKGROUND_ROWS rows the file is made by a Celery task (crm_site.customfields.export)."""

import tempfile

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, HttpResponseBadRequest, HttpResponseRedirect, StreamingHttpResponse
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from access.scopes import EXPORT, scope_q

from ..export import ExportRefused, export_queryset, formats_for, records_export, vcard_kind
from ..export_formats import VCARD_CONTENT_TYPE, XLSX_CONTENT_TYPE, vcard_chunks, write_xlsx
from ..validation import search_too_long, search_too_long_message
from .generic import ObjectListView


class ObjectExportView(ObjectListView):
    """Exports what the list shows (same search, filters and sort), within the user's export scope."""

    http_method_names = ["get"]  # not HEAD: every answer is a logged export

    def get(self, request, **kwargs):
        if scope_q(request.user, self.model, EXPORT) is None:
            raise PermissionDenied
        file_format = request.GET.get("format") or "csv"
        if file_format not in formats_for(self.entity):
            message = _("Unknown export format “%(format)s”: choose CSV or XLSX.") % {"format": file_format[:20]}
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        listed = self.list_query()
        if search_too_long(listed.query):
            messages.error(request, search_too_long_message())
            return HttpResponseRedirect(self.list_url())
        details = {"query": listed.query, "sort": listed.sort, "filters": self.applied_filters(listed.filterset)}
        from ..customfields.export import background_threshold, start_export

        if export_queryset(user=request.user, entity=self.entity, queryset=listed.queryset).count() \
                > background_threshold():
            job = start_export(user=request.user, entity=self.entity, file_format=file_format, params=request.GET)
            messages.info(request, _("The export is being prepared; the download link appears here when it is "
                                     "ready."))
            return HttpResponseRedirect(reverse("export_status", args=[job.pk]))
        try:
            export = records_export(user=request.user, entity=self.entity, file_format=file_format,
                                    queryset=listed.queryset, request=request, details=details)
        except ExportRefused as error:
            messages.error(request, str(error))
            return HttpResponseRedirect(self.list_url())
        if file_format == "csv":
            response = StreamingHttpResponse(export.csv_chunks(), content_type="text/csv; charset=utf-8")
            response["Content-Disposition"] = content_disposition_header(True, export.filename)
        elif file_format == "vcf":
            response = StreamingHttpResponse(vcard_chunks(columns=export.columns, rows=export.rows(),
                                                          kind=vcard_kind(self.entity)),
                                             content_type=VCARD_CONTENT_TYPE)
            response["Content-Disposition"] = content_disposition_header(True, export.filename)
        else:
            # Written to a temporary file first (openpyxl builds the zip at the end); deleted when closed.
            file = tempfile.TemporaryFile(suffix=".xlsx")
            write_xlsx(header=export.header, rows=export.rows(), file=file,
                       title=str(self.entity.verbose_name_plural).capitalize())
            file.seek(0)
            response = FileResponse(file, as_attachment=True, filename=export.filename,
                                    content_type=XLSX_CONTENT_TYPE)
        response["Cache-Control"] = "no-store"  # personal data: no copy in a shared cache
        return response

    def applied_filters(self, filterset):
        """The list filters the export applied, as given in the query string (for the audit log)."""
        if not filterset.is_valid():
            return {}
        applied = {}
        for name in filterset.filters:
            values = [value for value in self.request.GET.getlist(name) if value != ""]
            if values:
                applied[name] = values[0] if len(values) == 1 else values
        return applied

    def list_url(self):
        params = self.request.GET.copy()
        params.pop("format", None)
        query = params.urlencode()
        return reverse(f"{self.entity.key}_list") + (f"?{query}" if query else "")
