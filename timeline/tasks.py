"""Periodic timeline work. Each task takes a lock (two beats may run) and is idempotent by itself."""

from celery import shared_task

from . import services


@shared_task(name="timeline.tasks.remind_due_tasks")
def remind_due_tasks():
    with services.task_lock("timeline.remind_due_tasks") as acquired:
        if not acquired:
            return 0
        return services.remind_due_tasks()


@shared_task(name="timeline.tasks.apply_follow_up_rules")
def apply_follow_up_rules():
    with services.task_lock("timeline.apply_follow_up_rules", timeout=1800) as acquired:
        if not acquired:
            return 0
        return services.apply_follow_up_rules()
