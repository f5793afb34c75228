"""Unique values in a model with a recycle bin.

A binned record keeps its values, and a live record may reuse them, so a unique rule on an entity must
ignore the bin: declare it with `live_unique("tax_id", name="companies_company_unique_tax_id")` in the
model's Meta.constraints (a partial unique index: WHERE deleted_at IS NULL). A restore that would break
the rule is refused with the record holding the value named (trash.services.unique_conflicts).
No entity has a unique field yet.
"""

from django.db import models


def live_unique(*fields, name):
    return models.UniqueConstraint(fields=list(fields), condition=models.Q(deleted_at__isnull=True), name=name)
