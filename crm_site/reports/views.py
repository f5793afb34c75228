"""The dashboard (the home page), its tables as CSV/XLSX, and the list of activities a figure counts."""

import tempfile

from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponseBadRequest, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _

from crm_site.export import FORMATS
from crm_site.export_formats import XLSX_CONTENT_TYPE, csv_chunks, write_xlsx

from . import dashboard as board
from .periods import parse_period, parse_scope


def dashboard(request):
    context = board.build(request.user, request.GET)
    tables = context["tables"]
    query = request.GET.copy()
    query.pop("page", None)
    context.update({
        "blocks": [tables[name] for name in board.TABLES],
        "exportable": {name for name, table in tables.items() if board.export_allowed(request.user, table)},
        "query": query.urlencode(),
        "previous_url": _period_url(request, context["period"].previous()),
        "next_url": _period_url(request, context["period"].next()),
    })
    return render(request, "reports/dashboard.html", context)


def _period_url(request, period):
    params = request.GET.copy()
    for name in ("date", "from", "to"):
        params.pop(name, None)
    if period.kind == "custom":
        params.update({"period": "custom", "from": period.first.isoformat(), "to": period.last.isoformat()})
    else:
        params.update({"period": period.kind, "date": period.first.isoformat()})
    return "?" + params.urlencode()


def export(request, table):
    """One table of the dashboard as CSV or XLSX, with the export right on what it counts; logged."""
    from access.audit import audit_log
    from access.models import AuditLog
    from crm_site.registry import registry

    if table not in board.TABLES:
        raise Http404
    file_format = request.GET.get("format") or "csv"
    if file_format not in FORMATS:
        return HttpResponseBadRequest(_("Unknown export format: choose CSV or XLSX."),
                                      content_type="text/plain; charset=utf-8")
    context = board.build(request.user, request.GET)
    block = context["tables"][table]
    if not board.export_allowed(request.user, block):
        raise PermissionDenied
    header, rows = board.export_cells(block)
    period = context["period"]
    audit_log(AuditLog.EXPORT, user=request.user, request=request,
              model=registry[block.entity].model if block.entity else None, count=len(rows),
              details={"format": file_format, "report": table, "period": [period.first.isoformat(),
                                                                          period.last.isoformat()],
                       "scope": context["scope"]})
    filename = f"report-{table}-{period.first.isoformat()}.{file_format}"
    if file_format == "csv":
        response = StreamingHttpResponse(csv_chunks(header=header, rows=iter(rows)),
                                         content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = content_disposition_header(True, filename)
    else:
        file = tempfile.TemporaryFile(suffix=".xlsx")
        write_xlsx(header=header, rows=iter(rows), file=file, title=str(block.title)[:31])
        file.seek(0)
        response = FileResponse(file, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE)
    response["Cache-Control"] = "no-store"
    return response


KINDS = ("call", "meeting", "email", "task", "all")


def activities(request):
    """The entries an activity figure counts: `?kind=call|meeting|email|task&state=done|overdue&person=<id>` with
    the dashboard's period and scope."""
    from .selectors import report_queries

    with report_queries():  # the count of a year's entries at 1M is past PostgreSQL's JIT threshold too
        return _activities(request)


def _activities(request):
    from django.contrib.auth import get_user_model

    from timeline.selectors import with_display
    from timeline.views import attach_records

    from .selectors import activity_entries

    kind = request.GET.get("kind") if request.GET.get("kind") in KINDS else "all"
    state = "overdue" if request.GET.get("state") == "overdue" else "done"
    if state == "overdue":
        kind = "task"
    person_id = request.GET.get("person") or ""
    person = get_user_model().objects.filter(pk=person_id).first() if person_id.isdigit() else None
    period, scope = parse_period(request.GET), parse_scope(request.GET)
    entries, _who = activity_entries(request.user, scope, kind=kind, state=state, period=period,
                                     person=person.pk if person else None, now=timezone.now())
    paginator = Paginator(with_display(entries.order_by("-created_at", "-pk")), 50)
    page = paginator.get_page(request.GET.get("page"))
    attach_records(page.object_list, request.user)
    params = request.GET.copy()
    params.pop("page", None)
    back = {name: request.GET.get(name) for name in ("period", "date", "from", "to", "scope")
            if request.GET.get(name)}
    return render(request, "reports/activities.html", {
        "page": page, "entries": page.object_list, "count": paginator.count, "person": person, "kind": kind,
        "state": state, "period": period, "query": params.urlencode(), "back": "?" + urlencode(back),
    })
