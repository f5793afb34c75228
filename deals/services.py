"""Deal writes: stage moves are recorded with who and when."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from access.scopes import EDIT, can
from crm_site.services import record_update

from .models import Deal, StageChange

STAGE_CHANGED = "stage_changed"  # the event kind of a stage move (registered in DealsConfig.ready)


def deal_after_save(*, saved, user):
    """Hook of every deal write: a new deal or a changed stage gets a StageChange row (one INSERT per batch)."""
    rows = [
        StageChange(deal=obj, from_stage_id=previous.stage_id if previous else None, to_stage_id=obj.stage_id,
                    changed_by=user if user is not None and user.is_authenticated else None)
        for obj, previous in saved if previous is None or previous.stage_id != obj.stage_id
    ]
    StageChange.objects.bulk_create(rows)


@transaction.atomic
def deal_change_stage(*, user, deal, stage):
    """Move a deal to another stage of its pipeline (board drag, move button)."""
    deal = Deal.objects.select_for_update().get(pk=deal.pk)
    if not can(user, deal, EDIT):
        raise PermissionDenied
    from access.fields import read_only_fields

    if "stage" in read_only_fields(user, "deal"):  # a field rule makes the stage read-only for this role
        raise PermissionDenied
    if stage.pipeline_id != deal.pipeline_id:
        raise ValidationError(_("This stage belongs to another pipeline."))
    if stage.pk == deal.stage_id:
        return deal
    return record_update(user=user, obj=deal, data={"stage": stage}, reason="stage changed")
