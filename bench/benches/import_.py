"""`import`: baselines for the import issue (COPY in, django-import-export); the product figure lands with it."""

from contacts.models import Contact

from ..baselines import copy_in, copy_out, import_export_contacts
from .seed import CONTACT_COLUMNS

NAME = "import"
IMPORT_EXPORT_SAMPLE = 2000  # ~445 rows/s: keep the default run short


def run(ctx):
    ctx.ensure_seeded()
    data, rows, _ = copy_out("contacts_contact", CONTACT_COLUMNS)
    copy_seconds = copy_in("contacts_contact", CONTACT_COLUMNS, data)
    ctx.emit(NAME, "copy_in_rows_per_s", rows / copy_seconds, unit="rows/s", note="PostgreSQL COPY: the physical limit")
    sample = list(
        Contact.objects.values_list("last_name", "first_name", "middle_name", "position")[: min(ctx.scale, IMPORT_EXPORT_SAMPLE)]
    )
    owner = Contact.objects.select_related("owner").first().owner
    imported, seconds = import_export_contacts(sample, owner)
    ctx.emit(NAME, "import_export_rows_per_s", imported / seconds, unit="rows/s",
             baseline="PostgreSQL COPY into a staging table", baseline_value=rows / copy_seconds,
             note="plain django-import-export ModelResource, defaults; our importer comes with the import issue")
