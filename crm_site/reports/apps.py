from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "crm_site.reports"
    label = "reports"
    verbose_name = _("Reports")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # The filter panel of branch cf-lists (crm_site.lists) builds list filters from registered sources: there
        # the reports' filters (crm_site.reports.filters) join as one more source; until then crm_site.selectors
        # adds them itself.
        try:
            from crm_site.lists.filters import FilterDef, register_filter_source
        except ImportError:
            return
        from django.utils.module_loading import import_string

        from .filters import generic_filters

        def report_filters(entity, user):
            filters = generic_filters(entity)
            if entity.extra_filters:
                filters.update(import_string(entity.extra_filters)())
            field_of = {"department": "department", "passed_stage": "stage"}
            for name, item in filters.items():
                yield FilterDef(name=name, label=item.label, filter=item, field=field_of.get(name, ""), group="more")

        register_filter_source(report_filters)
