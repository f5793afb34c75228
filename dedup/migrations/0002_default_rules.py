from django.db import migrations

DEFAULTS = {
    "contact": {"criteria": ["phone", "email", "name"], "name_threshold": 90, "match_against": []},
    "lead": {"criteria": ["phone", "email", "name"], "name_threshold": 90, "match_against": ["contact", "company"]},
    "company": {"criteria": ["company_name", "tax_id", "phone", "email", "domain"], "name_threshold": 90,
                "match_against": []},
}


def seed(apps, schema_editor):
    DuplicateRule = apps.get_model("dedup", "DuplicateRule")
    ScanSchedule = apps.get_model("dedup", "ScanSchedule")
    for entity, values in DEFAULTS.items():
        DuplicateRule.objects.get_or_create(entity=entity, defaults=values)
        ScanSchedule.objects.get_or_create(entity=entity, defaults={"frequency": "weekly"})


def unseed(apps, schema_editor):
    apps.get_model("dedup", "DuplicateRule").objects.filter(entity__in=DEFAULTS).delete()
    apps.get_model("dedup", "ScanSchedule").objects.filter(entity__in=DEFAULTS).delete()


class Migration(migrations.Migration):
    dependencies = [("dedup", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
