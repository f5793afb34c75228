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
