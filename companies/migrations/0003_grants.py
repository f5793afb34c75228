# Company's grant tables, declared by this app now (they were access's): taken over as they are, then renamed.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("companies", "0002_initial"),
        ("access", "0006_grants_move_to_entity_apps"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="CompanyGroupGrant",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("content_object", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="group_grants", to="companies.company")),
                        ("group", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.group")),
                        ("permission", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.permission")),
                    ],
                    options={
                        "verbose_name": "Company group grant",
                        "abstract": False,
                        "unique_together": {("group", "permission", "content_object")},
                        "db_table": "access_companygroupgrant",
                    },
                ),
                migrations.CreateModel(
                    name="CompanyUserGrant",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("content_object", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="user_grants", to="companies.company")),
                        ("permission", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="auth.permission")),
                        ("user", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to=settings.AUTH_USER_MODEL)),
                    ],
                    options={
                        "verbose_name": "Company user grant",
                        "abstract": False,
                        "unique_together": {("user", "permission", "content_object")},
                        "db_table": "access_companyusergrant",
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.AlterModelTable(name="companygroupgrant", table=None),
        migrations.AlterModelTable(name="companyusergrant", table=None),
    ]
