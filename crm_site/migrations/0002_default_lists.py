from django.db import migrations

SOURCES = [
    ("website", "Website", "Веб-сайт", "Вебсайт"),
    ("call", "Call", "Звонок", "Дзвінок"),
    ("email", "Email", "Электронная почта", "Електронна пошта"),
    ("advertising", "Advertising", "Реклама", "Реклама"),
    ("referral", "Referral", "По рекомендации", "За рекомендацією"),
    ("exhibition", "Exhibition", "Выставка", "Виставка"),
    ("other", "Other", "Другое", "Інше"),
]
CLIENT_TYPES = [
    ("client", "Client", "Клиент", "Клієнт"),
    ("partner", "Partner", "Партнёр", "Партнер"),
    ("supplier", "Supplier", "Поставщик", "Постачальник"),
    ("competitor", "Competitor", "Конкурент", "Конкурент"),
    ("other", "Other", "Другое", "Інше"),
]
INDUSTRIES = [
    ("it", "IT and telecom", "ИТ и телеком", "ІТ і телеком"),
    ("manufacturing", "Manufacturing", "Производство", "Виробництво"),
    ("retail", "Retail", "Розничная торговля", "Роздрібна торгівля"),
    ("wholesale", "Wholesale", "Оптовая торговля", "Оптова торгівля"),
    ("services", "Services", "Услуги", "Послуги"),
    ("finance", "Finance", "Финансы", "Фінанси"),
    ("construction", "Construction", "Строительство", "Будівництво"),
    ("transport", "Transport and logistics", "Транспорт и логистика", "Транспорт і логістика"),
    ("agriculture", "Agriculture", "Сельское хозяйство", "Сільське господарство"),
    ("other", "Other", "Другое", "Інше"),
]
CURRENCIES = [
    ("rub", "Russian rouble", "Российский рубль", "Російський рубль", "₽", True),
    ("uah", "Ukrainian hryvnia", "Украинская гривна", "Українська гривня", "₴", False),
    ("usd", "US dollar", "Доллар США", "Долар США", "$", False),
    ("eur", "Euro", "Евро", "Євро", "€", False),
    ("kzt", "Kazakhstani tenge", "Казахстанский тенге", "Казахстанський теньге", "₸", False),
]


def seed(apps, schema_editor):
    for model_name, rows in (("Source", SOURCES), ("ClientType", CLIENT_TYPES), ("Industry", INDUSTRIES)):
        model = apps.get_model("crm_site", model_name)
        for order, (code, en, ru, uk) in enumerate(rows):
            model.objects.update_or_create(
                code=code, defaults={"name_en": en, "name_ru": ru, "name_uk": uk, "order": order}
            )
    currency = apps.get_model("crm_site", "Currency")
    for order, (code, en, ru, uk, symbol, default) in enumerate(CURRENCIES):
        currency.objects.update_or_create(
            code=code,
            defaults={"name_en": en, "name_ru": ru, "name_uk": uk, "order": order, "symbol": symbol,
                      "is_default": default},
        )


class Migration(migrations.Migration):
    dependencies = [("crm_site", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
