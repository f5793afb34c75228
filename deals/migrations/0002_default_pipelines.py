from django.db import migrations

PIPELINES = [
    (
        ("sales", "Sales", "Продажи", "Продажі", True),
        [
            ("new", "New", "Новая", "Нова", "progress", 10),
            ("qualification", "Qualification", "Квалификация", "Кваліфікація", "progress", 20),
            ("proposal", "Proposal", "Коммерческое предложение", "Комерційна пропозиція", "progress", 40),
            ("negotiation", "Negotiation", "Переговоры", "Переговори", "progress", 60),
            ("invoice", "Invoice", "Счёт выставлен", "Рахунок виставлено", "progress", 80),
            ("won", "Won", "Сделка успешна", "Угода успішна", "won", 100),
            ("lost", "Lost", "Сделка провалена", "Угода провалена", "lost", 0),
        ],
    ),
    (
        ("partners", "Partner projects", "Партнёрские проекты", "Партнерські проєкти", False),
        [
            ("request", "Request", "Запрос", "Запит", "progress", 10),
            ("pilot", "Pilot", "Пилот", "Пілот", "progress", 50),
            ("contract", "Contract", "Договор", "Договір", "progress", 80),
            ("won", "Won", "Успешно", "Успішно", "won", 100),
            ("lost", "Lost", "Отказ", "Відмова", "lost", 0),
        ],
    ),
]


def seed(apps, schema_editor):
    pipeline_model = apps.get_model("deals", "Pipeline")
    stage_model = apps.get_model("deals", "Stage")
    for order, ((code, en, ru, uk, default), stages) in enumerate(PIPELINES):
        pipeline, _ = pipeline_model.objects.update_or_create(
            code=code, defaults={"name_en": en, "name_ru": ru, "name_uk": uk, "order": order, "is_default": default}
        )
        for stage_order, (s_code, s_en, s_ru, s_uk, semantic, probability) in enumerate(stages):
            stage_model.objects.update_or_create(
                pipeline=pipeline, code=s_code,
                defaults={"name_en": s_en, "name_ru": s_ru, "name_uk": s_uk, "order": stage_order,
                          "semantic": semantic, "probability": probability},
            )


class Migration(migrations.Migration):
    dependencies = [("deals", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
