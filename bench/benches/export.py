"""`export`: the COPY-out baseline; the product's CSV/XLSX export lands with the export issue."""

from ..baselines import copy_out
from .seed import CONTACT_COLUMNS

NAME = "export"


def run(ctx):
    ctx.ensure_seeded()
    _data, rows, seconds = copy_out("contacts_contact", CONTACT_COLUMNS)
    ctx.emit(NAME, "copy_out_rows_per_s", rows / seconds, unit="rows/s", note="PostgreSQL COPY TO: the physical limit")
