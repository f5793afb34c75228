from django.db.models import Count, Sum

from access.scopes import READ

from .models import Deal, Pipeline

BOARD_CARDS_PER_STAGE = 50


def board_columns(*, user, pipeline, query=""):
    """Per stage of `pipeline`: the visible deals (first 50), their count and amount sums per currency."""
    deals = Deal.objects.visible_to(user, READ).filter(pipeline=pipeline)
    if query:
        deals = deals.search(query, user=user)
    totals = {}
    for row in deals.values("stage_id", "currency__code").annotate(count=Count("pk"), total=Sum("amount")):
        stage_totals = totals.setdefault(row["stage_id"], {"count": 0, "sums": []})
        stage_totals["count"] += row["count"]
        if row["total"] is not None:
            stage_totals["sums"].append({"currency": (row["currency__code"] or "").upper(), "total": row["total"]})
    from companies.models import Company

    columns = []
    stages = list(pipeline.stages.order_by("order", "pk"))
    for stage in stages:
        stage_deals = deals.filter(stage=stage).select_related("company", "currency", "owner").order_by(
            "-updated_at", "-pk"
        )[:BOARD_CARDS_PER_STAGE]
        stats = totals.get(stage.pk, {"count": 0, "sums": []})
        columns.append({"stage": stage, "deals": list(stage_deals), "count": stats["count"], "sums": stats["sums"]})
    # A card names its company only when the user may open it (not in the bin, within the read scope).
    company_ids = {deal.company_id for column in columns for deal in column["deals"]} - {None}
    visible = set(Company.objects.visible_to(user, READ).filter(pk__in=company_ids).values_list("pk", flat=True))
    for column in columns:
        for deal in column["deals"]:
            deal.company_visible = deal.company_id in visible
    return columns


def default_pipeline():
    return Pipeline.objects.filter(is_active=True).order_by("-is_default", "order", "pk").first()


def new_deal_defaults(datas):
    """A new deal without a pipeline or a stage gets them as the form offers them (registry `new_defaults`): the
    stage's own pipeline, else the default pipeline; the pipeline's first stage. A query per pipeline or stage."""
    from django.core.exceptions import ValidationError

    from crm_site.record_input import _pk_of

    from .models import Stage

    def pk(value):
        try:
            return _pk_of(value)
        except ValidationError:
            return None  # the write reports the bad value itself

    pipelines, first_stage, stages, out = {}, {}, {}, []
    for data in datas:
        pipeline = pk(data.get("pipeline")) if "pipeline" in data else None
        found = {}
        if "pipeline" not in data:
            stage = pk(data.get("stage")) if "stage" in data else None
            if stage is not None:
                if stage not in stages:
                    stages[stage] = Stage.objects.select_related("pipeline").filter(pk=stage).first()
                chosen = stages[stage].pipeline if stages[stage] is not None else None
            else:
                if None not in pipelines:
                    pipelines[None] = default_pipeline()
                chosen = pipelines[None]
            if chosen is not None:
                found["pipeline"] = chosen
                pipeline = chosen.pk
        if "stage" not in data and pipeline is not None:
            if pipeline not in first_stage:
                first_stage[pipeline] = Stage.objects.filter(pipeline_id=pipeline).order_by("order", "pk").first()
            if first_stage[pipeline] is not None:
                found["stage"] = first_stage[pipeline]
        out.append(found)
    return out
