# Contact's grant tables, declared by this app now (they were access's): taken over as they are, then renamed.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0003_link_field_labels"),
        ("access", "0006_grants_move_to_entity_apps"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="ContactGroupGrant",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("content_object", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="group_grants", to="contacts.contact")),
                        ("group", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.group")),
                        ("permission", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.permission")),
                    ],
                    options={
                        "verbose_name": "Contact group grant",
                        "abstract": False,
                        "unique_together": {("group", "permission", "content_object")},
                        "db_table": "access_contactgroupgrant",
                    },
                ),
                migrations.CreateModel(
                    name="ContactUserGrant",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("content_object", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="user_grants", to="contacts.contact")),
                        ("permission", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.permission")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "Contact user grant",
                        "abstract": False,
                        "unique_together": {("user", "permission", "content_object")},
                        "db_table": "access_contactusergrant",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="contactgroupgrant", table=None),
        migrations.AlterModelTable(name="contactusergrant", table=None),
    ]
