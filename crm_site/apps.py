from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmSiteConfig(AppConfig):
    name = "crm_site"
    verbose_name = _("CRM core")

    def ready(self):
        from django.db.backends.signals import connection_created
        from django.db.models.signals import post_migrate

        from . import epochs, lookups  # noqa: F401  (registers `field__any`)
        from .pgtime import use_compiled_timestamps
        from .sqlite import use_unicode_like

        # The demo's SQLite: LIKE folding Cyrillic case too (crm_site/sqlite.py).
        connection_created.connect(use_unicode_like, dispatch_uid="crm_site_sqlite_like")
        # PostgreSQL: timestamps loaded by psycopg's compiled loader (crm_site/pgtime.py).
        connection_created.connect(use_compiled_timestamps, dispatch_uid="crm_site_pg_timestamps")
        # The counters of the values kept across requests (crm_site/epochs.py), made after every app's tables.
        post_migrate.connect(epochs.ensure_counters, sender=self, dispatch_uid="crm_site_epochs")
