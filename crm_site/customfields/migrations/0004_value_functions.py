"""The SQL functions custom-field range filters, sorts and expression indexes share (PostgreSQL only).

Their bodies are part of every expression index built on them: a change to a body needs a new migration that
also rebuilds those indexes (`manage.py custom_field_indexes --rebuild`)."""

from django.db import migrations

FUNCTIONS = """
CREATE OR REPLACE FUNCTION crm_cf_number(value jsonb) RETURNS numeric
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE jsonb_typeof(value)
        WHEN 'number' THEN (value #>> '{}')::numeric
        WHEN 'string' THEN CASE WHEN length(value #>> '{}') <= 200
                                     AND (value #>> '{}') ~ '^[+-]?[0-9]+([.][0-9]+)?$'
                                THEN (value #>> '{}')::numeric END
    END
$$;
CREATE OR REPLACE FUNCTION crm_cf_date(value jsonb) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN jsonb_typeof(value) = 'string'
                     AND (value #>> '{}') ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+([+-][0-9:]+|Z)?)?$'
                THEN (value #>> '{}') COLLATE "C" END
$$;
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTIONS)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS crm_cf_number(jsonb) CASCADE; "
                              "DROP FUNCTION IF EXISTS crm_cf_date(jsonb) CASCADE")


class Migration(migrations.Migration):
    dependencies = [("customfields", "0003_duplicate_criterion")]

    operations = [migrations.RunPython(create, drop, elidable=False)]
