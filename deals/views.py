from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from crm_site.http import safe_next
from crm_site.registry import registry
from crm_site.selectors import record_for_user_or_404
from crm_site.validation import parse_id, search_too_long, search_too_long_message

from . import selectors, services
from .models import Pipeline, Stage


def board(request):
    pipelines = list(Pipeline.objects.filter(is_active=True))
    pipeline = None
    pipeline_id = parse_id(request.GET.get("pipeline", ""))
    if pipeline_id is not None:
        pipeline = Pipeline.objects.filter(pk=pipeline_id, is_active=True).first()
    pipeline = pipeline or selectors.default_pipeline()
    query = request.GET.get("q", "").strip()
    if search_too_long(query):
        messages.warning(request, search_too_long_message())
    columns = selectors.board_columns(user=request.user, pipeline=pipeline, query=query) if pipeline else []
    return render(
        request,
        "deals/board.html",
        {"pipelines": pipelines, "pipeline": pipeline, "columns": columns, "query": query,
         "entity": registry["deal"], "stages": [c["stage"] for c in columns]},
    )


@require_POST
def move(request, pk):
    """Move a deal to a stage: a plain form post (no JS) or the board's drag and drop (htmx/fetch)."""
    deal = record_for_user_or_404(request.user, "deal", pk)
    stage_id = parse_id(request.POST.get("stage", ""))
    stage = Stage.objects.filter(pk=stage_id).first() if stage_id is not None else None
    if stage is None:
        error = _("Choose a stage.")
    else:
        try:
            services.deal_change_stage(user=request.user, deal=deal, stage=stage)
            error = None
        except ValidationError as exc:
            error = "; ".join(exc.messages)
        except PermissionDenied:
            raise
    if request.htmx or request.headers.get("X-Requested-With") == "fetch":
        return HttpResponse(error or "", status=400 if error else 204)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("“%(deal)s” moved to “%(stage)s”.") % {"deal": deal, "stage": stage})
    return HttpResponseRedirect(safe_next(request, reverse("deal_board") + f"?pipeline={deal.pipeline_id}"))
