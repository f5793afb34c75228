"""Making API tokens is a right per role; by default only administrators have it (superusers always do)."""

from django.db import migrations


def seed(apps, schema_editor):
    Role = apps.get_model("access", "Role")
    TokenRight = apps.get_model("api", "TokenRight")
    for role in Role.objects.filter(name="Administrator"):
        TokenRight.objects.get_or_create(role=role)


def unseed(apps, schema_editor):
    apps.get_model("api", "TokenRight").objects.filter(role__name="Administrator").delete()


class Migration(migrations.Migration):
    dependencies = [("api", "0001_initial"), ("access", "0004_default_roles")]

    operations = [migrations.RunPython(seed, unseed)]
