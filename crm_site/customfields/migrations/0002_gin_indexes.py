"""A GIN index (jsonb_path_ops) on every entity's `custom_fields` column, on PostgreSQL: it answers the JSON
containment (`@>`) that filters on custom fields use (equality, any of a list). Other databases scan.

Made here, not in each entity's Meta (GinIndex would break the SQLite demo); a later entity adds a migration
like this one. Never created at runtime."""

from django.db import migrations

TABLES = ["contacts_contact", "companies_company", "leads_lead", "deals_deal"]


def index_name(table):
    return f"{table}_cf_gin"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{index_name(table)}" ON "{table}" USING gin ("custom_fields" jsonb_path_ops)')


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for table in TABLES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{index_name(table)}"')


class Migration(migrations.Migration):
    dependencies = [
        ("customfields", "0001_initial"),
        ("contacts", "0004_grants"),
        ("companies", "0003_grants"),
        ("leads", "0003_grants"),
        ("deals", "0004_grants"),
    ]

    operations = [migrations.RunPython(create, drop, elidable=False)]
