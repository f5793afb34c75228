# The grant tables move to the apps of their entities (each app declares its own pair): here they only leave
# access's migration state; the tables stay, and each entity app takes its pair over and renames the tables.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("access", "0005_marketer_edits_non_key_fields"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.DeleteModel(name=name)
                for name in ("CompanyGroupGrant", "CompanyUserGrant", "ContactGroupGrant", "ContactUserGrant",
                             "DealGroupGrant", "DealUserGrant", "LeadGroupGrant", "LeadUserGrant")
            ],
            database_operations=[],
        ),
    ]
