import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm_site.settings")

app = Celery("crm_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# Periodic tasks. Every one must be idempotent and take a lock: two beats may run (celery #2856).
app.conf.beat_schedule = {}
app.conf.beat_schedule["trash-purge-expired"] = {"task": "trash.tasks.purge_expired", "schedule": 3600.0}
