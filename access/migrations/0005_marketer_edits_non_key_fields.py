"""The Marketer role edits contacts, companies and leads, except their key fields.

"Marketing reads the whole base and exports it, but cannot edit key fields": a marketer tags and segments
clients (tags, source, type, comments), while names, phones, emails, legal details, the responsible user and
*open to everyone* stay read-only. Deals stay read-only as a whole. An install whose administrators already
changed the Marketer role keeps its own settings.
"""

from django.db import migrations

ALL = 5
SEEDED_MATRIX = {"*": {"read": ALL, "add": 0, "edit": 0, "delete": 0, "export": ALL, "import": 0}}
EDITABLE = ("contact", "company", "lead")
KEY_FIELDS = {
    "contact": ("last_name", "first_name", "middle_name", "phone", "email", "owner", "opened"),
    "company": ("name", "legal_name", "tax_id", "registration_number", "kpp", "legal_address", "bank_name",
                "bank_code", "bank_account", "phone", "email", "owner", "opened"),
    "lead": ("title", "last_name", "first_name", "middle_name", "company_name", "status", "expected_amount",
             "currency", "phone", "email", "owner", "opened"),
}


def seed(apps, schema_editor):
    Role = apps.get_model("access", "Role")
    FieldRule = apps.get_model("access", "FieldRule")
    role = Role.objects.filter(name="Marketer").first()
    if role is None:
        return
    if role.matrix == SEEDED_MATRIX:
        role.matrix = {**SEEDED_MATRIX, **{key: {"edit": ALL} for key in EDITABLE}}
        role.description = "Reads and exports the whole base; edits contacts, companies and leads except key fields."
        role.save(update_fields=["matrix", "description"])
    elif not all(role.matrix.get(key, {}).get("edit") == ALL for key in EDITABLE):
        return  # changed by the administrators: leave it to them
    for entity, fields in KEY_FIELDS.items():
        for field in fields:
            FieldRule.objects.get_or_create(role=role, entity=entity, field=field, defaults={"mode": "read_only"})


def unseed(apps, schema_editor):
    Role = apps.get_model("access", "Role")
    role = Role.objects.filter(name="Marketer").first()
    if role is not None:
        role.field_rules.filter(entity__in=KEY_FIELDS).delete()
        role.matrix = SEEDED_MATRIX
        role.save(update_fields=["matrix"])


class Migration(migrations.Migration):
    dependencies = [("access", "0004_default_roles")]

    operations = [migrations.RunPython(seed, unseed)]
