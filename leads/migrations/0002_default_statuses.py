from django.db import migrations

STATUSES = [
    ("new", "New", "Новый", "Новий", "open"),
    ("in_progress", "In progress", "В работе", "В роботі", "open"),
    ("processed", "Processed", "Обработан", "Оброблено", "open"),
    ("converted", "Converted", "Сконвертирован", "Сконвертовано", "success"),
    ("junk", "Junk", "Некачественный", "Неякісний", "failure"),
]


def seed(apps, schema_editor):
    status = apps.get_model("leads", "LeadStatus")
    for order, (code, en, ru, uk, semantic) in enumerate(STATUSES):
        status.objects.update_or_create(
            code=code, defaults={"name_en": en, "name_ru": ru, "name_uk": uk, "order": order, "semantic": semantic}
        )


class Migration(migrations.Migration):
    dependencies = [("leads", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
