"""Deal writes: stage moves are recorded with who and when."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from access.scopes import EDIT, can
from crm_site import events

from .models import Deal, StageChange


def deal_after_save(*, obj, previous, user):
    """Hook of record_save: a new deal or a changed stage gets a StageChange row."""
    if previous is None or previous.stage_id != obj.stage_id:
        StageChange.objects.create(
            deal=obj, from_stage_id=previous.stage_id if previous else None, to_stage_id=obj.stage_id,
            changed_by=user,
        )


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
    previous_stage_id = deal.stage_id
    deal.stage = stage
    deal.updated_by = user
    deal._change_reason = "stage changed"
    deal.save()
    StageChange.objects.create(deal=deal, from_stage_id=previous_stage_id, to_stage=stage, changed_by=user)
    events.record_event(events.STAGE_CHANGED, obj=deal, user=user, data={"old": previous_stage_id, "new": stage.pk})
    return deal
