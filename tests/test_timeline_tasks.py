"""Reminders and follow-up rules: each notification exactly once, each follow-up task at most once."""

import os
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.core import mail
from django.db import connection
from django.utils import timezone

from tests.factories import make_company, make_contact, make_deal, make_user, stage
from timeline import services, tasks
from timeline.models import Entry, EntryLink, FollowUpRule, Kind, Notification, TaskState

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")


def make_task(user, record, *, deadline, subject="Call back", responsible=None):
    entry = Entry.objects.create(kind=Kind.TASK, state=TaskState.PLANNED, author=user, subject=subject,
                                 deadline=deadline, responsible=responsible or user)
    services.link_entry(entry, [record])
    return entry


def test_reminders_are_sent_once(user, django_capture_on_commit_callbacks):
    contact = make_contact(user)
    now = timezone.now()
    soon = make_task(user, contact, deadline=now + timedelta(minutes=30), subject="Soon")
    late = make_task(user, contact, deadline=now - timedelta(minutes=5), subject="Late")
    far = make_task(user, contact, deadline=now + timedelta(days=2), subject="Far")
    with django_capture_on_commit_callbacks(execute=True):
        assert services.remind_due_tasks(now=now) == 2
        assert services.remind_due_tasks(now=now) == 0
        assert tasks.remind_due_tasks.apply().get() == 0
    reasons = set(Notification.objects.filter(user=user).values_list("entry__subject", "reason"))
    assert reasons == {("Soon", "reminder"), ("Late", "overdue")}
    assert len(mail.outbox) == 2 and mail.outbox[0].to == [user.email]
    # Later the soon one becomes overdue: one more notification, still once.
    later = now + timedelta(hours=1)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.remind_due_tasks(now=later) == 1
        assert services.remind_due_tasks(now=later) == 0
    assert Notification.objects.filter(entry=soon, reason="overdue").count() == 1
    assert not Notification.objects.filter(entry=far).exists()
    assert late.pk


def test_done_tasks_and_users_without_email(user):
    nomail = make_user("nomail", email="")
    contact = make_contact(user)
    done = make_task(user, contact, deadline=timezone.now() - timedelta(minutes=1))
    done.state = TaskState.DONE
    done.save()
    make_task(user, contact, deadline=timezone.now() - timedelta(minutes=1), responsible=nomail)
    assert services.remind_due_tasks() == 1
    assert Notification.objects.get().user == nomail and not mail.outbox


def test_lock_held_means_the_task_skips(user):
    contact = make_contact(user)
    make_task(user, contact, deadline=timezone.now() - timedelta(minutes=1))
    with services.task_lock("timeline.remind_due_tasks") as acquired:
        assert acquired
        assert tasks.remind_due_tasks.apply().get() == 0
    assert tasks.remind_due_tasks.apply().get() == 1


def test_the_beat_schedule_runs_the_reminder():
    from crm_site.celery import app

    names = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert "timeline.tasks.remind_due_tasks" in names and "timeline.tasks.apply_follow_up_rules" in names


@on_postgres
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_reminder_once():
    owner = make_user("racer")
    contact = make_contact(owner, type=None, source=None)  # a transactional test may run after a flush
    for i in range(30):
        make_task(owner, contact, deadline=timezone.now() - timedelta(minutes=i + 1), subject=f"t{i}")
    barrier = threading.Barrier(2)
    results, errors = [], []

    def run():
        try:
            barrier.wait(timeout=10)
            results.append(services.remind_due_tasks())  # no lock: the durable markers alone must hold
        except Exception as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors
    assert sum(results) == 30
    assert Notification.objects.filter(reason="overdue").count() == 30


# ---------------------------------------------------------------------------
# Follow-up rules


def _age(record, days):
    type(record).all_objects.filter(pk=record.pk).update(created_at=timezone.now() - timedelta(days=days))


def test_follow_up_rule_is_idempotent(user):
    rule = FollowUpRule.objects.create(name="Stale deals", entity="deal", inactive_days=5,
                                       stage_semantic="progress", task_title="Follow up {record} ({days} days)")
    stale = make_deal(user, stage=stage("new"), title="Stale")
    fresh = make_deal(user, stage=stage("new"), title="Fresh")
    won = make_deal(user, stage=stage("won"), title="Won")
    busy = make_deal(user, stage=stage("new"), title="Busy")
    for deal in (stale, won, busy):
        _age(deal, 10)
    note = Entry.objects.create(kind=Kind.NOTE, author=user, body="called yesterday")
    services.link_entry(note, [busy])
    assert services.apply_follow_up_rules() == 1
    assert services.apply_follow_up_rules() == 0
    assert tasks.apply_follow_up_rules.apply().get() == 0
    task = Entry.objects.get(follow_up_rule=rule)
    assert task.subject == "Follow up Stale (5 days)" and task.responsible == user
    links = set(EntryLink.objects.filter(entry=task).values_list("content_type__model", "object_id"))
    assert ("deal", stale.pk) in links and ("company", stale.company_id) in links
    assert Notification.objects.filter(user=user, reason="follow_up").count() == 1
    # Done, and still no activity afterwards: a new one may come later, never two open at once.
    services.task_set_state(user=user, entry=task, state=TaskState.DONE)
    Entry.objects.filter(pk=task.pk).update(created_at=timezone.now() - timedelta(days=10))
    assert services.apply_follow_up_rules() == 1
    assert Entry.objects.filter(follow_up_rule=rule, state=TaskState.PLANNED).count() == 1
    assert fresh.pk and won.pk


def test_the_open_follow_up_key_is_unique(user):
    from django.db import IntegrityError, transaction

    Entry.objects.create(kind=Kind.TASK, state=TaskState.PLANNED, follow_up_key="1:2:3")
    with pytest.raises(IntegrityError), transaction.atomic():
        Entry.objects.create(kind=Kind.TASK, state=TaskState.PLANNED, follow_up_key="1:2:3")
    Entry.objects.create(kind=Kind.TASK, state=TaskState.DONE, follow_up_key="1:2:3")


def test_rule_validation():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        FollowUpRule(name="x", entity="spaceship").full_clean()
    with pytest.raises(ValidationError):
        FollowUpRule(name="x", entity="deal", task_title="{nope}").full_clean()
    FollowUpRule(name="x", entity="company", task_title="Call {record}").full_clean()


def test_rule_on_an_entity_without_stages(user):
    FollowUpRule.objects.create(name="Quiet companies", entity="company", inactive_days=30,
                                stage_semantic="progress")
    company = make_company(user)
    _age(company, 40)
    assert services.apply_follow_up_rules() == 1


# ---------------------------------------------------------------------------
# A real Celery worker against Redis (CI sets REDIS_URL; locally: REDIS_URL=redis://127.0.0.1:6379/N).


def test_ci_has_redis():
    if os.environ.get("CI") and not os.environ.get("REDIS_URL"):
        pytest.fail("CI must set REDIS_URL so the real worker test runs")


def test_real_worker_runs_the_reminder(celery_worker_queue):
    from django.core.cache import cache

    app, queue = celery_worker_queue
    owner = make_user("worker-owner")
    contact = make_contact(owner, type=None, source=None)
    task = make_task(owner, contact, deadline=timezone.now() - timedelta(minutes=1), subject="Via the worker")
    cache.delete("lock:timeline.remind_due_tasks")
    assert tasks.remind_due_tasks.apply_async(queue=queue).get(timeout=60) == 1
    assert Notification.objects.filter(entry=task, user=owner, reason="overdue").count() == 1


def test_moving_a_deadline_rearms_the_reminders(user, django_capture_on_commit_callbacks):
    from timeline.forms import entry_form_class

    contact = make_contact(user)
    task = make_task(user, contact, deadline=timezone.now() - timedelta(minutes=1))
    assert services.remind_due_tasks() == 1
    form = entry_form_class("task")(data={"subject": "Call back", "deadline": ""}, instance=task, user=user)
    assert form.is_valid(), form.errors
    task = services.entry_update(user=user, entry=task, form=form)
    # Both markers are re-armed: the "due soon" reminder and the overdue notice, each sent once more.
    assert task.overdue_notified_at is None and task.reminded_at is None and task.deadline > timezone.now()
    lead = timedelta(minutes=settings.CRM_REMIND_BEFORE_MINUTES)
    soon = task.deadline - lead + timedelta(minutes=1)
    assert services.remind_due_tasks(now=soon) == 1
    assert services.remind_due_tasks(now=soon) == 0  # once
    reasons = list(Notification.objects.filter(entry=task).order_by("pk").values_list("reason", flat=True))
    assert reasons[-1] == Notification.Reason.REMINDER
    assert services.remind_due_tasks(now=task.deadline + timedelta(minutes=1)) == 1
    assert Notification.objects.filter(entry=task).order_by("pk").last().reason == Notification.Reason.OVERDUE
    assert services.remind_due_tasks(now=task.deadline + timedelta(minutes=2)) == 0
