import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")

app = Celery("crm_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic tasks. Every one must be idempotent and take a lock: two beats may run (celery #2856).
app.conf.beat_schedule = {}
app.conf.beat_schedule["timeline-remind-due-tasks"] = {"task": "timeline.tasks.remind_due_tasks", "schedule": 60.0}
app.conf.beat_schedule["timeline-follow-up-rules"] = {"task": "timeline.tasks.apply_follow_up_rules", "schedule": 900.0}
app.conf.beat_schedule["dedup-scheduled-scans"] = {"task": "dedup.tasks.scheduled_scans", "schedule": 3600.0}
app.conf.beat_schedule["trash-purge-expired"] = {"task": "trash.tasks.purge_expired", "schedule": 3600.0}
app.conf.beat_schedule["webhooks-deliver-pending"] = {"task": "webhooks.deliver_pending", "schedule": 30.0}
app.conf.beat_schedule["api-purge-idempotency"] = {"task": "api.purge_idempotency", "schedule": 3600.0}
app.conf.beat_schedule["exports-purge-expired"] = {"task": "crm_site.customfields.tasks.purge_expired_exports",
                                                   "schedule": 3600.0}
