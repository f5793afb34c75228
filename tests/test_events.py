"""Services announce domain events (crm_site.events): what the timeline, dedup and the bin listen to."""

import pytest

from crm_site import events, services
from crm_site.registry import registry
from tests.factories import make_record


@pytest.fixture
def heard():
    log = []

    def listener(kind, *, obj, user, related, data):
        log.append((kind, type(obj)._meta.model_name, obj.pk, [type(r)._meta.model_name for r in related], data))

    events.listen(listener)
    yield log
    events._listeners.remove(listener)


def test_unknown_kind_is_refused():
    with pytest.raises(ValueError):
        events.record_event("exploded", obj=None)


@pytest.mark.parametrize("key", [e.key for e in registry])
def test_delete_announces(key, user, heard):
    obj = make_record(key, user)
    services.record_delete(user=user, obj=obj)
    assert ("deleted", obj._meta.model_name, obj.pk, [], {}) in heard


def test_link_and_unlink_announce(user, heard):
    contact = make_record("contact", user)
    company = make_record("company", user)
    relation = registry["contact"].relation("companies")
    link = services.record_link(user=user, obj=contact, relation=relation, target=company, position="CEO")
    services.record_unlink(user=user, obj=contact, relation=relation, link_id=link.pk)
    kinds = [(k, m, r) for k, m, _pk, r, _d in heard]
    assert ("linked", "contact", ["company"]) in kinds
    assert ("unlinked", "contact", ["company"]) in kinds


def test_stage_change_announces(user, heard):
    from deals.models import Stage
    from deals.services import deal_change_stage

    deal = make_record("deal", user)
    target = Stage.objects.filter(pipeline=deal.pipeline).exclude(pk=deal.stage_id).first()
    old = deal.stage_id
    deal_change_stage(user=user, deal=deal, stage=target)
    assert ("stage_changed", "deal", deal.pk, [], {"old": old, "new": target.pk}) in heard


def test_events_of_many_records_reach_bulk_handlers_at_once_and_others_one_by_one(user, heard):
    batches = []

    def listener(kind, *, obj, user, related, data):
        raise AssertionError("a listener with a bulk handler gets the batch, not single records")

    def bulk(kind, *, model, objs, user, data):
        batches.append((kind, [obj.pk for obj in objs], data))

    events.listen(listener, bulk=bulk)
    try:
        records = [make_record("contact", user) for _ in range(3)]
        events.record_events(events.PURGED, objs=records, user=user, data={"rule": "test"})
        events.record_events(events.PURGED, objs=[], user=user)  # nothing to tell
    finally:
        events._listeners.remove(listener)
        events._bulk_handlers.pop(listener)
    assert batches == [("purged", [r.pk for r in records], {"rule": "test"})]
    assert [(kind, pk) for kind, _model, pk, _related, _data in heard] == [("purged", r.pk) for r in records]
    with pytest.raises(ValueError):
        events.record_events("exploded", objs=records)
