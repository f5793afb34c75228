"""Demo data for `manage.py seed_demo`: users and departments, deterministic generators, and two writers.

Layout:
- `ensure_demo_users()`: the demo departments, group and users (created once, never duplicated).
- `DemoGenerator`: pure Python, no database access. From one `QuickRandom(seed)` (and Faker instances
  seeded with `seed_instance(seed)` for street pools) it yields `Slice`s: for every table a list of row
  tuples in the column order of `TABLES`, with explicit ids taken from counters the writer starts
  (moments are ISO 8601 text in UTC, see `DemoGenerator._ts`).
  Each slice is a coherent unit: companies, then their contacts (linked with a position), leads (some
  converted into those contacts), deals of those companies with 1-2 of their contacts and the stage path.
- Writers: `PostgresCopyWriter` (the fast path: COPY into each table, then the history rows of the same
  id range with INSERT ... SELECT in the same transaction) and `OrmWriter` (any other database:
  simple-history's `bulk_create_with_history` / `bulk_update_with_history`). `writer_for(connection)` picks.
  What the PostgreSQL writer does about foreign-key triggers and indexes (the real costs) is in its docstring.

Audit history: every record of an audited model gets its '+' row (date = `created_at`, user = creator).
Deals not in their pipeline's first stage and leads not in status "new" were created in that first
state and changed later: their '+' row carries the initial state and a '~' row (date = `updated_at`)
the current one, matching the deal's StageChange rows and the lead's conversion fields.

Phones are generated as E.164 digits first and then formatted the way people type them, so
`Communication.normalized` is known without parsing (`normalize_phone()` costs ~13 µs a row).
"""

import bisect
import functools
import itertools
import json
import math
import queue
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.serializers.json import DjangoJSONEncoder
from django.db import DatabaseError, IntegrityError, models, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history, bulk_update_with_history

from .normalize import normalize_url

# ---------------------------------------------------------------------------
# Demo users and departments

DEMO_USERS = {
    # username: (first name, last name, email, superuser)
    "admin": ("Андрей", "Соколов", "admin@example.com", True),
    "head": ("Ольга", "Кузнецова", "o.kuznetsova@example.com", False),
    "manager1": ("Дмитрий", "Волков", "d.volkov@example.com", False),
    "manager2": ("Оксана", "Бондаренко", "o.bondarenko@example.com", False),
    "marketer": ("Тарас", "Коваленко", "t.kovalenko@example.com", False),
}
SALES, SALES_MOSCOW, SALES_KYIV, MARKETING = "Sales", "Sales — Moscow", "Sales — Kyiv", "Marketing"
# username -> role (seeded by access/migrations/0004_default_roles.py); head's Sales contains both manager teams.
DEMO_ROLES = {
    "admin": "Administrator", "head": "Head of sales", "manager1": "Sales manager", "manager2": "Sales manager",
    "marketer": "Marketer",
}
# username -> (department, primary)
DEMO_MEMBERSHIPS = {
    "head": [(SALES, True)],
    "manager1": [(SALES_MOSCOW, True)],
    "manager2": [(SALES_KYIV, True)],
    "marketer": [(MARKETING, True)],
}


def demo_users_exist():
    return get_user_model().objects.filter(username__in=DEMO_USERS).count() == len(DEMO_USERS)


@transaction.atomic
def ensure_demo_users(password="demo"):
    """The demo departments, the five demo users and their roles; returns {username: user}.

    Users that already exist are left as they are (password included); missing departments,
    memberships and role assignments are added. Safe to call any number of times.
    """
    from access.models import Department, Membership

    user_model = get_user_model()
    users, password_hash = {}, None
    for username, (first_name, last_name, email, superuser) in DEMO_USERS.items():
        user = user_model.objects.filter(username=username).first()
        if user is None:
            password_hash = password_hash or make_password(password)  # one hash (slow on purpose) for all
            user = user_model.objects.create(
                username=username, first_name=first_name, last_name=last_name, email=email,
                password=password_hash, is_staff=superuser, is_superuser=superuser,
            )
        users[username] = user

    head = users["head"]
    sales = _department(Department, SALES, None, head)
    departments = {
        SALES: sales,
        SALES_MOSCOW: _department(Department, SALES_MOSCOW, sales, head),
        SALES_KYIV: _department(Department, SALES_KYIV, sales, head),
        MARKETING: _department(Department, MARKETING, None, None),
    }
    for username, memberships in DEMO_MEMBERSHIPS.items():
        user = users[username]
        has_primary = Membership.objects.filter(user=user, is_primary=True).exists()
        for name, primary in memberships:
            Membership.objects.get_or_create(
                user=user, department=departments[name], defaults={"is_primary": primary and not has_primary}
            )

    _assign_demo_roles(users)
    return users


def _assign_demo_roles(users):
    from access.models import Role, RoleAssignment

    roles = {role.name: role for role in Role.objects.filter(name__in=set(DEMO_ROLES.values()))}
    for username, role_name in DEMO_ROLES.items():
        if role_name in roles:
            RoleAssignment.objects.get_or_create(role=roles[role_name], user=users[username])


def _department(model, name, parent, head):
    department = model.objects.filter(name=name, parent=parent).order_by("pk").first()
    if department is None:
        department = model.objects.create(name=name, parent=parent, head=head)
    elif head is not None and department.head_id is None:
        department.head = head
        department.save(update_fields=["head"])
    return department


# ---------------------------------------------------------------------------
# Word pools (names, places, companies). Last names and streets come from Faker's locale data.

RU, UK, EN = "ru", "uk", "en"
FAKER_LOCALES = {RU: "ru_RU", UK: "uk_UA", EN: "en_US"}

FIRST_NAMES = {
    (RU, "m"): "Александр Алексей Андрей Антон Артём Борис Вадим Валерий Василий Виктор Виталий Владимир "
               "Владислав Вячеслав Геннадий Георгий Григорий Денис Дмитрий Евгений Егор Иван Игорь Илья "
               "Кирилл Константин Леонид Максим Михаил Никита Николай Олег Павел Пётр Роман Руслан Сергей "
               "Станислав Степан Тимур Фёдор Юрий Ярослав",
    (RU, "f"): "Александра Алина Алла Анастасия Анна Валентина Валерия Вера Виктория Галина Дарья Диана "
               "Евгения Екатерина Елена Елизавета Жанна Инна Ирина Карина Кристина Ксения Лариса Лидия "
               "Любовь Людмила Маргарита Марина Мария Надежда Наталья Нина Оксана Ольга Полина Светлана "
               "София Тамара Татьяна Юлия Яна",
    (UK, "m"): "Андрій Анатолій Богдан Борис Вадим Валентин Василь Віктор Віталій Володимир Дмитро Євген "
               "Іван Ігор Максим Микола Михайло Назар Олег Олександр Олексій Остап Павло Петро Роман "
               "Руслан Сергій Степан Тарас Юрій Ярослав",
    (UK, "f"): "Алла Анна Богдана Валентина Вікторія Галина Дарина Євгенія Зоряна Ірина Катерина Лариса "
               "Леся Людмила Марія Марта Надія Наталія Оксана Олена Ольга Світлана Соломія Тетяна Уляна "
               "Христина Юлія Яна",
}
MIDDLE_NAMES = {
    (RU, "m"): "Александрович Алексеевич Андреевич Анатольевич Борисович Валерьевич Васильевич Викторович "
               "Владимирович Геннадьевич Григорьевич Дмитриевич Евгеньевич Иванович Игоревич "
               "Константинович Михайлович Николаевич Олегович Павлович Петрович Романович Сергеевич Юрьевич",
    (RU, "f"): "Александровна Алексеевна Андреевна Анатольевна Борисовна Валерьевна Васильевна Викторовна "
               "Владимировна Геннадьевна Григорьевна Дмитриевна Евгеньевна Ивановна Игоревна "
               "Константиновна Михайловна Николаевна Олеговна Павловна Петровна Романовна Сергеевна Юрьевна",
    (UK, "m"): "Андрійович Анатолійович Богданович Васильович Вікторович Володимирович Дмитрович Іванович "
               "Ігорович Миколайович Михайлович Олегович Олександрович Олексійович Павлович Петрович "
               "Романович Сергійович Степанович Тарасович Юрійович Ярославович",
    (UK, "f"): "Андріївна Анатоліївна Богданівна Василівна Вікторівна Володимирівна Дмитрівна Іванівна "
               "Ігорівна Миколаївна Михайлівна Олегівна Олександрівна Олексіївна Павлівна Петрівна "
               "Романівна Сергіївна Степанівна Тарасівна Юріївна Ярославівна",
}

# city, phone area codes, (postcode range), weight [, US state]
CITIES = {
    RU: [
        ("Москва", ("495", "499"), (101000, 129999), 40, "77"),
        ("Санкт-Петербург", ("812",), (190000, 199999), 15, "78"),
        ("Новосибирск", ("383",), (630000, 630130), 6, "54"),
        ("Екатеринбург", ("343",), (620000, 620150), 6, "66"),
        ("Казань", ("843",), (420000, 420140), 5, "16"),
        ("Нижний Новгород", ("831",), (603000, 603160), 5, "52"),
        ("Краснодар", ("861",), (350000, 350090), 5, "23"),
        ("Самара", ("846",), (443000, 443130), 4, "63"),
    ],
    UK: [
        ("Київ", ("44",), (1001, 4219), 40, ""),
        ("Харків", ("57",), (61001, 61204), 15, ""),
        ("Одеса", ("48",), (65001, 65125), 12, ""),
        ("Львів", ("32",), (79000, 79070), 12, ""),
        ("Дніпро", ("56",), (49000, 49130), 12, ""),
        ("Запоріжжя", ("61",), (69000, 69124), 9, ""),
    ],
    EN: [
        ("New York", ("212", "646", "718"), (10001, 10292), 35, "NY"),
        ("San Francisco", ("415",), (94102, 94188), 15, "CA"),
        ("Chicago", ("312", "773"), (60601, 60661), 15, "IL"),
        ("Boston", ("617",), (2108, 2137), 10, "MA"),
        ("Austin", ("512",), (78701, 78759), 10, "TX"),
        ("Seattle", ("206",), (98101, 98199), 15, "WA"),
    ],
}
RU_MOBILE_CODES = "903 905 909 910 911 915 916 917 921 925 926 929 950 952 965 977 985 999".split()
UA_MOBILE_CODES = "50 63 66 67 68 73 93 95 96 97 98 99".split()
US_AREA_CODES = "201 202 206 212 213 305 310 312 404 415 469 512 602 617 646 702 713 718 773 808 917".split()
UA_STREETS = [
    "вул. Хрещатик", "вул. Велика Васильківська", "просп. Перемоги", "вул. Січових Стрільців", "вул. Шевченка",
    "вул. Грушевського", "вул. Сумська", "просп. Науки", "вул. Дерибасівська", "вул. Городоцька",
    "просп. Свободи", "вул. Соборна", "вул. Незалежності", "бульв. Лесі Українки", "вул. Саксаганського",
    "вул. Антоновича", "вул. Жилянська", "вул. Івана Франка", "вул. Котляревського", "просп. Гагаріна",
    "вул. Пушкінська", "вул. Садова", "вул. Лисенка", "вул. Богдана Хмельницького", "просп. Яворницького",
    "вул. Полтавський Шлях", "вул. Київська", "вул. Зелена", "вул. Личаківська", "вул. Канатна",
]
FREE_MAIL = {
    RU: ["mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru"],
    UK: ["ukr.net", "gmail.com", "i.ua", "meta.ua", "outlook.com"],
    EN: ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me"],
}
FREE_MAIL_DOMAINS = {"mail.ru", "yandex.ru", "gmail.com", "bk.ru", "inbox.ru", "list.ru", "ukr.net", "i.ua",
                     "meta.ua", "outlook.com", "yahoo.com", "icloud.com", "proton.me"}
BRAND_PARTS = {
    RU: ("Альфа Вектор Гранит Дельта Евро Интер Капитал Лидер Мега Меридиан Нова Омега Прайм Регион Сигма "
         "Сфера Терра Форте Центр Сибирь Волга Балт Урал Арктик Орион",
         "Строй Торг Сервис Техно Логистик Инвест Пром Снаб Софт Агро Мед Трейд Консалт Энерго Систем "
         "Маркет Транс Холдинг",
         ["", "", "", "", "", " Плюс", "-М", " Групп", " Север", " Юг", "-Центр", " Про", " 2000"]),
    UK: ("Альфа Вектор Граніт Дельта Євро Інтер Капітал Лідер Мега Меридіан Нова Омега Прайм Регіон Сигма "
         "Сфера Терра Форте Дніпро Карпати Поділля Слобода Таврія Полісся Орiон",
         "Буд Торг Сервіс Техно Логістик Інвест Пром Постач Софт Агро Мед Трейд Консалт Енерго Систем "
         "Маркет Транс Холдинг",
         ["", "", "", "", "", " Плюс", "-Україна", " Груп", " Захід", " Схід", " Про"]),
    EN: ("Blue North Summit Pioneer Apex Granite Silver Bright Vertex Harbor Evergreen Liberty Atlas Beacon "
         "Crescent Keystone Redwood Iron Golden Clearwater Lakeside",
         "Logistics Systems Solutions Foods Analytics Labs Partners Dynamics Networks Supply Health Energy "
         "Capital Works Software Industries Ventures",
         ["", "", "", "", "", " Group", " Holdings", " International", " & Co"]),
}
TLD = {RU: [".ru", ".ru", ".com", ".su"], UK: [".ua", ".com.ua", ".com.ua", ".com"], EN: [".com", ".com", ".io", ".co"]}
# (short form, full form, weight, individual entrepreneur)
LEGAL_FORMS = {
    RU: [("ООО", "Общество с ограниченной ответственностью", 62, False), ("АО", "Акционерное общество", 12, False),
         ("ПАО", "Публичное акционерное общество", 4, False), ("ИП", "Индивидуальный предприниматель", 22, True)],
    UK: [("ТОВ", "Товариство з обмеженою відповідальністю", 62, False),
         ("ПрАТ", "Приватне акціонерне товариство", 10, False), ("ФОП", "Фізична особа-підприємець", 28, True)],
    EN: [("LLC", "LLC", 55, False), ("Inc.", "Inc.", 35, False), ("Ltd.", "Ltd.", 10, False)],
}
BANKS = {
    RU: [("ПАО Сбербанк", "044525225"), ("АО «Альфа-Банк»", "044525593"), ("Банк ВТБ (ПАО)", "044525187"),
         ("АО «ТБанк»", "044525974"), ("ПАО «Промсвязьбанк»", "044525555"), ("АО «Райффайзенбанк»", "044525700")],
    UK: [("АТ КБ «ПриватБанк»", "305299"), ("АТ «Ощадбанк»", "300465"), ("АТ «Райффайзен Банк»", "380805"),
         ("АТ «УкрСиббанк»", "351005"), ("АТ «Універсал Банк»", "322001")],
    EN: [("JPMorgan Chase Bank", "021000021"), ("Bank of America", "026009593"), ("Wells Fargo Bank", "121000248"),
         ("Citibank", "021000089")],
}
POSITIONS = {
    RU: ["Генеральный директор", "Коммерческий директор", "Финансовый директор", "Главный бухгалтер",
         "Бухгалтер", "Менеджер по закупкам", "Руководитель отдела закупок", "Менеджер по продажам",
         "Руководитель отдела продаж", "ИТ-директор", "Системный администратор", "Юрист", "Офис-менеджер",
         "Директор по маркетингу", "Технический директор", "Инженер", "Руководитель проекта",
         "Заместитель директора", "Логист", "Начальник склада"],
    UK: ["Генеральний директор", "Комерційний директор", "Фінансовий директор", "Головний бухгалтер",
         "Бухгалтер", "Менеджер із закупівель", "Керівник відділу закупівель", "Менеджер з продажу",
         "Керівник відділу продажу", "ІТ-директор", "Системний адміністратор", "Юрист", "Офіс-менеджер",
         "Директор з маркетингу", "Технічний директор", "Інженер", "Керівник проєкту", "Заступник директора",
         "Логіст", "Начальник складу"],
    EN: ["CEO", "Sales Director", "CFO", "Chief Accountant", "Accountant", "Purchasing Manager",
         "Head of Procurement", "Account Manager", "Head of Sales", "CIO", "System Administrator",
         "Legal Counsel", "Office Manager", "Marketing Director", "CTO", "Engineer", "Project Manager",
         "Deputy Director", "Logistics Coordinator", "Warehouse Manager"],
}
COMMENTS = {
    RU: ["Предпочитает связь по e-mail", "Звонить после 14:00", "Познакомились на выставке", "Лояльный клиент",
         "Просил прислать прайс-лист", "Решения принимает вместе с директором"],
    UK: ["Надає перевагу e-mail", "Телефонувати після 14:00", "Познайомилися на виставці", "Лояльний клієнт",
         "Просив надіслати прайс", "Рішення ухвалює разом із директором"],
    EN: ["Prefers e-mail", "Call after 2 pm", "Met at the trade show", "Loyal customer", "Asked for the price list",
         "Decides together with the CEO"],
}
LEAD_TITLES = {
    RU: (["Заявка с сайта", "Запрос коммерческого предложения", "Запрос цены", "Входящий звонок",
          "Заявка с выставки", "Подбор решения", "Консультация по внедрению", "Запрос на демонстрацию"],
         ["CRM-система", "серверное оборудование", "ноутбуки для офиса", "складской учёт", "видеонаблюдение",
          "облачное хранилище", "техническая поддержка", "обучение персонала", "лицензии 1С"]),
    UK: (["Заявка з сайту", "Запит комерційної пропозиції", "Запит ціни", "Вхідний дзвінок",
          "Заявка з виставки", "Підбір рішення", "Консультація щодо впровадження", "Запит на демонстрацію"],
         ["CRM-система", "серверне обладнання", "ноутбуки для офісу", "складський облік", "відеоспостереження",
          "хмарне сховище", "технічна підтримка", "навчання персоналу", "ліцензії BAS"]),
    EN: (["Website inquiry", "Request for proposal", "Price request", "Inbound call", "Trade show lead",
          "Solution inquiry", "Implementation consultation", "Demo request"],
         ["CRM", "server hardware", "office laptops", "inventory management", "video surveillance",
          "cloud storage", "technical support", "staff training", "software licences"]),
}
DEAL_TITLES = {
    (RU, "sales"): ["Поставка ноутбуков", "Внедрение CRM", "Поставка серверного оборудования",
                    "Техподдержка на год", "Аудит ИТ-инфраструктуры", "Монтаж видеонаблюдения", "Лицензии 1С",
                    "Обучение сотрудников", "Облачный хостинг", "Разработка сайта", "Автоматизация склада"],
    (UK, "sales"): ["Постачання ноутбуків", "Впровадження CRM", "Постачання серверного обладнання",
                    "Техпідтримка на рік", "Аудит ІТ-інфраструктури", "Монтаж відеоспостереження", "Ліцензії BAS",
                    "Навчання працівників", "Хмарний хостинг", "Розробка сайту", "Автоматизація складу"],
    (EN, "sales"): ["Laptop supply", "CRM implementation", "Server hardware", "Annual support contract",
                    "IT infrastructure audit", "Video surveillance install", "Software licences", "Staff training",
                    "Cloud hosting", "Website development", "Warehouse automation"],
    (RU, "partners"): ["Партнёрская интеграция", "Совместный пилот", "Дистрибьюторский договор",
                       "Реселлерское соглашение"],
    (UK, "partners"): ["Партнерська інтеграція", "Спільний пілот", "Дистриб'юторський договір",
                       "Реселерська угода"],
    (EN, "partners"): ["Partner integration", "Joint pilot", "Distribution agreement", "Reseller agreement"],
}
DEAL_ROLES = {
    RU: ["Лицо, принимающее решение", "Технический специалист", "Бухгалтерия", "Инициатор", ""],
    UK: ["Особа, що ухвалює рішення", "Технічний спеціаліст", "Бухгалтерія", "Ініціатор", ""],
    EN: ["Decision maker", "Technical contact", "Accounting", "Champion", ""],
}
TAGS = ["VIP", "Выставка 2024", "Рассылка", "Партнёр", "Ключевой клиент"]
# currency codes by the company's locale, with weights
CURRENCIES = {RU: (("rub", 88), ("usd", 8), ("eur", 4)), UK: (("uah", 80), ("usd", 12), ("eur", 8)),
              EN: (("usd", 92), ("eur", 8))}
REVENUE_PER_EMPLOYEE = {"rub": (1_500_000, 20_000_000), "uah": (400_000, 5_000_000), "usd": (40_000, 400_000),
                        "eur": (40_000, 350_000), "kzt": (8_000_000, 90_000_000)}
AMOUNT_RANGES = {"rub": (30_000, 30_000_000), "uah": (10_000, 10_000_000), "usd": (500, 500_000),
                 "eur": (500, 400_000), "kzt": (200_000, 100_000_000)}
LOCALE_WEIGHTS = ((RU, 50), (UK, 35), (EN, 15))

TRANSLIT = {
    RU: dict(zip("абвгдеёжзийклмнопрстуфхцчшщъыьэюя",
                 "a b v g d e e zh z i y k l m n o p r s t u f kh ts ch sh shch _ y _ e yu ya".split(), strict=True)),
    UK: dict(zip("абвгґдеєжзиіїйклмнопрстуфхцчшщьюя",
                 "a b v h g d e ie zh z y i i i k l m n o p r s t u f kh ts ch sh shch _ iu ia".split(), strict=True)),
}
for _table in TRANSLIT.values():
    for _key in [k for k, v in _table.items() if v == "_"]:
        _table[_key] = ""


def translit(text, locale):
    """Lower-case Latin letters and digits only (for e-mail addresses, logins and domains)."""
    table = TRANSLIT.get(locale, {})
    out = []
    for char in text.lower():
        if "a" <= char <= "z" or "0" <= char <= "9":
            out.append(char)
        else:
            out.append(table.get(char, TRANSLIT[RU].get(char, "")))
    return "".join(out)


@dataclass
class Pools:
    """Everything picked per row, computed once per seed (Faker is far too slow to call per row)."""

    first: dict  # (locale, gender) -> [(name, latin)]
    middle: dict  # (locale, gender) -> [name]
    last: dict  # (locale, gender) -> [(name, latin)]
    streets: dict  # locale -> [street]
    cities: dict  # locale -> ([city tuple], cumulative weights)


def build_pools(seed):
    from faker import Faker

    first, middle, last, streets = {}, {}, {}, {}
    for (locale, gender), names in FIRST_NAMES.items():
        first[locale, gender] = [(name, translit(name, locale)) for name in names.split()]
        middle[locale, gender] = MIDDLE_NAMES[locale, gender].split()
    for locale, faker_locale in FAKER_LOCALES.items():
        fake = Faker(faker_locale)
        fake.seed_instance(seed)
        person = fake.provider("faker.providers.person")
        for gender, attr in (("m", "last_names_male"), ("f", "last_names_female")):
            names = getattr(person, attr, None) or person.last_names
            last[locale, gender] = [(name, translit(name, locale)) for name in dict.fromkeys(names)]
        if locale == EN:
            for gender, attr in (("m", "first_names_male"), ("f", "first_names_female")):
                first[locale, gender] = [(name, translit(name, locale)) for name in dict.fromkeys(getattr(person, attr))]
                middle[locale, gender] = [""]
            streets[locale] = sorted({fake.street_name() for _ in range(600)})
        elif locale == RU:
            streets[locale] = sorted({fake.street_name() for _ in range(600)})
        else:
            streets[locale] = list(UA_STREETS)
    cities = {}
    for locale, rows in CITIES.items():
        cum, total = [], 0
        for row in rows:
            total += row[3]
            cum.append(total)
        cities[locale] = (rows, cum)
    return Pools(first=first, middle=middle, last=last, streets=streets, cities=cities)


# ---------------------------------------------------------------------------
# Tax ids, bank accounts, phones


def _digits(rng, n):
    """n random decimal digits."""
    return f"{rng.randrange(10**n):0{n}d}"


def _checksum(digits, weights, modulo=11):
    return sum(int(d) * w for d, w in zip(digits, weights, strict=False)) % modulo % 10


def inn_legal(rng, region):
    """Russian INN of an organisation: 10 digits, the last a check digit."""
    body = region + _digits(rng, 7)
    return body + str(_checksum(body, (2, 4, 10, 3, 5, 9, 4, 6, 8)))


def inn_person(rng, region):
    """Russian INN of a person (individual entrepreneur): 12 digits, two check digits."""
    body = region + _digits(rng, 8)
    body += str(_checksum(body, (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))
    return body + str(_checksum(body, (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)))


def ogrn(rng, region, individual=False):
    """OGRN (13 digits) or OGRNIP (15 digits) with its check digit."""
    year = f"{rng.randint(2, 23):02d}"
    if individual:
        body = "3" + year + region + _digits(rng, 9)
        return body + str(int(body) % 13 % 10)
    body = rng.choice("15") + year + region + _digits(rng, 7)
    return body + str(int(body) % 11 % 10)


def edrpou(rng):
    """Ukrainian EDRPOU code of a legal entity: 8 digits, the last a check digit."""
    body = str(rng.randint(2000000, 4499999))
    number = int(body)
    weights = (1, 2, 3, 4, 5, 6, 7) if number < 3000000 or number > 6000000 else (7, 1, 2, 3, 4, 5, 6)
    check = sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11
    if check == 10:
        check = sum(int(d) * (w + 2) for d, w in zip(body, weights, strict=True)) % 11 % 10
    return body + str(check)


def rnokpp(rng):
    """Ukrainian individual tax number (РНОКПП) of a sole proprietor: 10 digits, the last a check digit."""
    body = str(rng.randint(200000000, 399999999))
    weights = (-1, 5, 7, 9, 4, 6, 10, 5, 7)
    return body + str(sum(int(d) * w for d, w in zip(body, weights, strict=True)) % 11 % 10)


def iban_ua(rng, mfo):
    account = "0000026" + _digits(rng, 12)
    bban = mfo + account
    check = 98 - int(bban + "3010" + "00") % 97  # U=30, A=10
    return f"UA{check:02d}{bban}"


def _sub(rng, n=7):
    """n subscriber digits, not starting with 0 or 1."""
    return str(rng.randint(2 * 10 ** (n - 1), 10**n - 1))


def phone_ru(rng, code):
    """(as typed, E.164) for a Russian number with a 3-digit area/operator code."""
    s = _sub(rng)
    a, b, c = s[:3], s[3:5], s[5:]
    style = rng.randrange(4)
    if code[0] == "9":
        value = (f"+7 {code} {a}-{b}-{c}", f"8 ({code}) {a}-{b}-{c}", f"8-{code}-{a}-{b}-{c}", f"+7{code}{s}")[style]
    else:
        value = (f"8 ({code}) {a}-{b}-{c}", f"+7 ({code}) {a}-{b}-{c}", f"+7 {code} {a}-{b}-{c}", f"8 {code} {s}")[style]
    return value, f"+7{code}{s}"


def phone_ua(rng, code):
    """(as typed, E.164) for a Ukrainian number: always with +380/+38 so region RU cannot misread it."""
    s = _sub(rng)
    style = rng.randrange(4)
    value = (f"+380 {code} {s[:3]} {s[3:]}", f"+38 (0{code}) {s[:3]}-{s[3:5]}-{s[5:]}",
             f"+38 0{code} {s[:3]} {s[3:5]} {s[5:]}", f"+380{code}{s}")[style]
    return value, f"+380{code}{s}"


def phone_us(rng, area):
    line = f"{rng.randrange(10000):04d}"
    style = rng.randrange(3)
    value = (f"+1 {area} 555 {line}", f"+1 ({area}) 555-{line}", f"+1-{area}-555-{line}")[style]
    return value, f"+1{area}555{line}"


def mobile_phone(rng, locale):
    if locale == RU:
        return phone_ru(rng, rng.choice(RU_MOBILE_CODES))
    if locale == UK:
        return phone_ua(rng, rng.choice(UA_MOBILE_CODES))
    return phone_us(rng, rng.choice(US_AREA_CODES))


def city_phone(rng, locale, city):
    code = rng.choice(city[1])
    if locale == RU:
        return phone_ru(rng, code)
    if locale == UK:
        return phone_ua(rng, code)
    return phone_us(rng, code)


# ---------------------------------------------------------------------------
# Tables: the columns each generator fills, in row-tuple order. Any other concrete field of the model
# gets its default (so a field added later with a default needs no change here).

CRM_FIELDS = ["id", "owner_id", "department_id", "opened", "created_at", "updated_at", "created_by_id",
              "updated_by_id"]


@dataclass
class TableSpec:
    key: str
    model_path: str
    fields: list
    audited: bool = True
    crm: bool = False  # a CRMObject: history date/user from created_at/created_by
    explicit_ids: bool = True

    @property
    def model(self):
        from django.apps import apps

        return apps.get_model(self.model_path)


TABLES = [
    TableSpec("company", "companies.Company", CRM_FIELDS + [
        "name", "type_id", "industry_id", "employees", "annual_revenue", "revenue_currency_id", "address",
        "website", "legal_name", "tax_id", "registration_number", "kpp", "legal_address", "bank_name",
        "bank_code", "bank_account"], crm=True),
    TableSpec("contact", "contacts.Contact", CRM_FIELDS + [
        "last_name", "first_name", "middle_name", "honorific", "position", "birthday", "address", "source_id",
        "type_id", "comment"], crm=True),
    TableSpec("contactcompany", "contacts.ContactCompany",
              ["id", "contact_id", "company_id", "position", "is_primary", "created_at"]),
    TableSpec("contacttag", "contacts.Contact_tags", ["contact_id", "tag_id"], audited=False, explicit_ids=False),
    TableSpec("lead", "leads.Lead", CRM_FIELDS + [
        "title", "last_name", "first_name", "middle_name", "position", "company_name", "source_id", "status_id",
        "score", "expected_amount", "currency_id", "comment", "converted_contact_id", "converted_company_id",
        "converted_at", "converted_by_id"], crm=True),
    TableSpec("deal", "deals.Deal", CRM_FIELDS + [
        "title", "pipeline_id", "stage_id", "amount", "currency_id", "expected_close_date", "company_id",
        "source_lead_id"], crm=True),
    TableSpec("dealcontact", "deals.DealContact", ["id", "deal_id", "contact_id", "role", "created_at"]),
    TableSpec("stagechange", "deals.StageChange",
              ["deal_id", "from_stage_id", "to_stage_id", "changed_by_id", "changed_at"], audited=False,
              explicit_ids=False),
    TableSpec("communication", "crm_site.Communication",
              ["id", "content_type_id", "object_id", "channel", "kind", "value", "normalized", "is_primary",
               "position"]),
]
TABLES_BY_KEY = {spec.key: spec for spec in TABLES}
ENTITY_KEYS = ("contact", "company", "lead", "deal")


@dataclass
class References:
    """Ids of the seeded lists the generator points at."""

    sources: list
    client_types: dict  # code -> id
    industries: list
    currencies: dict  # code -> id
    lead_statuses: dict  # code -> id
    pipelines: dict  # code -> (pipeline id, [(stage id, semantic)] in order)
    content_types: dict  # entity key -> content type id
    tags: list

    @classmethod
    def load(cls):
        from companies.models import Company
        from contacts.models import Contact
        from deals.models import Pipeline
        from leads.models import Lead, LeadStatus

        from .models import ClientType, Currency, Industry, Source, Tag

        pipelines = {}
        for pipeline in Pipeline.objects.prefetch_related("stages").order_by("order", "pk"):
            stages = [(s.pk, s.semantic) for s in sorted(pipeline.stages.all(), key=lambda s: (s.order, s.pk))]
            if stages:
                pipelines[pipeline.code] = (pipeline.pk, stages)
        tags = [Tag.objects.get_or_create(name=name)[0].pk for name in TAGS]
        return cls(
            sources=list(Source.objects.order_by("order", "pk").values_list("pk", flat=True)),
            client_types=dict(ClientType.objects.values_list("code", "pk")),
            industries=list(Industry.objects.order_by("order", "pk").values_list("pk", flat=True)),
            currencies=dict(Currency.objects.values_list("code", "pk")),
            lead_statuses=dict(LeadStatus.objects.values_list("code", "pk")),
            pipelines=pipelines,
            content_types={
                key: ContentType.objects.get_for_model(model).pk
                for key, model in (("contact", Contact), ("company", Company), ("lead", Lead))
            },
            tags=tags,
        )


# ---------------------------------------------------------------------------
# How many records, and whose


@dataclass
class Owner:
    user_id: int
    department_id: int | None
    share: float
    opened_share: float
    min_closed: int = 0  # records not opened, whatever the scale
    min_total: int = 0
    min_opened: int = 0


def demo_owners(users):
    """manager1 and manager2 own most of the base (at least 30 closed records of each entity each)."""
    from access.scopes import primary_department

    plan = {"manager1": (0.40, 0.05, 30, 0, 0), "manager2": (0.38, 0.05, 30, 0, 0),
            "head": (0.11, 0.25, 0, 3, 1), "marketer": (0.06, 0.5, 0, 2, 1), "admin": (0.05, 0.5, 0, 2, 1)}
    owners = []
    for username, (share, opened, min_closed, min_total, min_opened) in plan.items():
        user = users[username]
        department = primary_department(user)
        owners.append(Owner(user.pk, department.pk if department else None, share, opened, min_closed, min_total,
                            min_opened))
    return owners


def entity_counts(contacts):
    """Requested sizes before the per-owner minimums: companies ≈ contacts/3, leads and deals ≈ contacts/2."""
    contacts = max(int(contacts), 0)
    return {"contact": contacts, "company": round(contacts / 3), "lead": round(contacts / 2),
            "deal": round(contacts / 2)}


def owner_quotas(owners, total):
    """[(closed, opened)] per owner for an entity of `total` records (grown to meet the minimums)."""
    quotas = []
    for owner in owners:
        mine = owner.share * total
        opened = max(owner.min_opened, round(mine * owner.opened_share))
        closed = max(owner.min_closed, round(mine) - opened, owner.min_total - opened)
        quotas.append([closed, opened])
    return quotas


class OwnerSchedule:
    """Draws (owner, opened) without replacement from the quotas: exact counts at any scale."""

    def __init__(self, owners, quotas):
        self.owners = owners
        self.left = [list(q) for q in quotas]
        self.total = sum(c + o for c, o in quotas)

    def draw(self, rng):
        r = rng.randrange(self.total)
        for index, (closed, opened) in enumerate(self.left):
            n = closed + opened
            if r < n:
                is_opened = r >= closed
                self.left[index][1 if is_opened else 0] -= 1
                self.total -= 1
                return self.owners[index], is_opened
            r -= n
        raise IndexError("schedule exhausted")


def _split(total, parts, index):
    return total * (index + 1) // parts - total * index // parts


# ---------------------------------------------------------------------------
# The generator


@dataclass
class CompanyRef:
    id: int
    locale: str
    city: tuple
    brand: str
    domain: str
    phone: tuple | None
    created: int
    type_id: int | None
    contacts: list = field(default_factory=list)


@dataclass
class ContactRef:
    id: int
    locale: str
    gender: str
    last: str
    first: str
    middle: str
    position: str
    company: CompanyRef | None
    phone: tuple | None
    email: str
    created: int
    source_id: int | None


@dataclass
class Slice:
    index: int
    rows: dict  # table key -> [tuple]
    id_ranges: dict  # table key -> (first id, last id) for explicit-id tables with rows
    counts: dict = field(default_factory=dict)  # table key -> rows
    prepared: object = None  # what the writer made of the rows (COPY text), off the main thread


class QuickRandom(random.Random):
    """random.Random whose integer picks scale one random() float instead of drawing bits until one fits:
    several times cheaper per call; the bias (at most n / 2**53) does not matter for demo data."""

    def _randbelow(self, n):
        return int(self.random() * n)

    def choice(self, seq):
        return seq[int(self.random() * len(seq))]

    def randrange(self, start, stop=None, step=1):
        if stop is None:
            start, stop = 0, start
        if step != 1 or stop <= start:
            return super().randrange(start, stop, step)
        return start + int(self.random() * (stop - start))

    def randint(self, a, b):
        return a + int(self.random() * (b - a + 1))


class Weighted:
    """Picks a value of [(value, weight)] by weight: cumulative weights computed once, then a bisection."""

    def __init__(self, pairs):
        self.values = [value for value, _weight in pairs]
        self.cumulative = list(itertools.accumulate(weight for _value, weight in pairs))

    def pick(self, rng):
        return self.values[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]


@functools.cache
def _times_of_day():
    """'HH:MM:SS+00:00' for every second of a day (built once: a lookup is 6x quicker than formatting)."""
    two = [f"{n:02d}" for n in range(60)]
    return [f"{h}:{m}:{s}+00:00" for h in two[:24] for m in two for s in two]


ROUND_CONTACTS = 300  # contacts per round: owners' recent pools (300 companies each) span several rounds


class DemoGenerator:
    """Yields `Slice`s of coherent rows; deterministic for a given seed, sizes, owners and first ids."""

    def __init__(self, *, seed, contacts, owners, refs, first_ids, now=None, chunk=20_000, pools=None):
        self.rng = QuickRandom(seed)
        self.pools = pools or build_pools(seed)
        self.refs = refs
        self.owners = owners
        requested = entity_counts(contacts)
        self.quotas = {key: owner_quotas(owners, requested[key]) for key in ENTITY_KEYS}
        self.totals = {key: sum(c + o for c, o in q) for key, q in self.quotas.items()}
        self.schedules = {key: OwnerSchedule(owners, self.quotas[key]) for key in ENTITY_KEYS}
        self.next_id = dict(first_ids)
        self.slices = max(1, math.ceil(self.totals["contact"] / max(chunk, 1)))
        now = now or timezone.now()
        self.now = int(now.timestamp())
        self.start = self.now - 730 * 86400
        self.domains = {}
        self.owner_companies = {o.user_id: deque(maxlen=300) for o in owners}
        self.owner_contacts = {o.user_id: deque(maxlen=1000) for o in owners}
        self.convertible = {o.user_id: deque(maxlen=1000) for o in owners}
        self.converted_leads = {o.user_id: deque(maxlen=500) for o in owners}
        self.lead_index = self.deal_index = 0
        self.all_stages = [(code, stage) for code, (_pid, stages) in refs.pipelines.items() for stage in stages]
        self.norm_url = normalize_url
        self.day_prefix = {}
        self.times = _times_of_day()
        self.locales = Weighted(LOCALE_WEIGHTS)
        self.currencies = {locale: Weighted(pairs) for locale, pairs in CURRENCIES.items()}
        self.legal_forms = {locale: Weighted([(f, f[2]) for f in forms]) for locale, forms in LEGAL_FORMS.items()}
        self.scores = Weighted((("hot", 20), ("warm", 35), ("cold", 25), ("", 20)))
        statuses = [(c, w) for c, w in (("new", 22), ("in_progress", 25), ("processed", 15), ("converted", 22),
                                        ("junk", 16)) if c in refs.lead_statuses]
        self.statuses = Weighted(statuses) if statuses else None
        self.stages = {code: Weighted([(s, 1.6 if i == 0 else 1.0) for i, s in enumerate(stages)])
                       for code, (_pid, stages) in refs.pipelines.items()}
        type_codes = refs.client_types
        type_weights = [(type_codes.get(code), w) for code, w in
                        (("client", 70), ("partner", 12), ("supplier", 10), ("competitor", 3), ("other", 5))
                        if code in type_codes]
        self.type_weights = Weighted(type_weights) if type_weights else None

    # -- helpers ---------------------------------------------------------------

    def _id(self, key):
        value = self.next_id[key]
        self.next_id[key] = value + 1
        return value

    def _after(self, moment, low, high):
        """A moment `low`..`high` seconds after `moment`, squeezed (not clipped) so it is never in the future."""
        high = min(high, self.now - moment)
        return moment + self.rng.randint(min(low, max(high, 0)), max(high, 0))

    def _ts(self, seconds):
        """The moment as ISO 8601 text in UTC: COPY reads it as is (formatting 160,000 datetimes a slice was the
        costliest part of the COPY text), the ORM writer parses it back."""
        day, rest = divmod(seconds, 86400)
        prefix = self.day_prefix.get(day)
        if prefix is None:
            prefix = self.day_prefix[day] = self._date(seconds).isoformat() + " "
        return prefix + self.times[rest]

    def _date(self, seconds):
        return datetime.fromtimestamp(seconds, UTC).date()

    def _city(self, locale):
        rows, cum = self.pools.cities[locale]
        r = self.rng.random() * cum[-1]
        for row, c in zip(rows, cum, strict=True):
            if r < c:
                return row
        return rows[-1]

    def _address(self, locale, city, office=True):
        rng = self.rng
        street = rng.choice(self.pools.streets[locale])
        postcode = rng.randint(*city[2])
        if locale == RU:
            text = f"{postcode}, г. {city[0]}, {street}, д. {rng.randint(1, 180)}"
            if office and rng.random() < 0.6:
                text += f", офис {rng.randint(1, 900)}"
            return text
        if locale == UK:
            text = f"{postcode:05d}, м. {city[0]}, {street}, {rng.randint(1, 180)}"
            if office and rng.random() < 0.6:
                text += f", оф. {rng.randint(1, 600)}"
            return text
        suite = f", Suite {rng.randint(100, 3900)}" if office and rng.random() < 0.4 else ""
        return f"{rng.randint(1, 2999)} {street}{suite}, {city[0]}, {city[4]} {postcode:05d}"

    def _person(self, locale, gender=None):
        rng = self.rng
        gender = gender or ("m" if rng.random() < 0.55 else "f")
        first, first_lat = rng.choice(self.pools.first[locale, gender])
        last, last_lat = rng.choice(self.pools.last[locale, gender])
        middle = rng.choice(self.pools.middle[locale, gender]) if locale != EN else ""
        return gender, last, first, middle, last_lat, first_lat

    def _personal_email(self, locale, last_lat, first_lat):
        rng = self.rng
        style = rng.randrange(4)
        number = rng.randint(1, 9999)
        local = (f"{first_lat}.{last_lat}{number}", f"{last_lat}.{first_lat}{number % 100}",
                 f"{first_lat[:1]}{last_lat}{number}", f"{last_lat}{number}")[style]
        return f"{local}@{rng.choice(FREE_MAIL[locale])}"

    def _locale(self):
        return self.locales.pick(self.rng)

    def _currency(self, locale):
        code = self.currencies[locale].pick(self.rng)
        return code, self.refs.currencies.get(code)

    def _amount(self, code, rng):
        low, high = AMOUNT_RANGES.get(code, (1000, 1_000_000))
        value = math.exp(rng.uniform(math.log(low), math.log(high)))
        step = 1000 if value > 100_000 else 100 if value > 5000 else 10
        return Decimal(int(value // step * step))

    def _comm(self, rows, key, object_id, channel, kind, value, normalized, primary, position):
        rows["communication"].append((self._id("communication"), self.refs.content_types[key], object_id, channel,
                                      kind, value, normalized, primary, position))

    # -- entities ----------------------------------------------------------------

    def _company(self, rows, window):
        rng, refs = self.rng, self.refs
        owner, opened = self.schedules["company"].draw(rng)
        locale = self._locale()
        city = self._city(locale)
        short, full, _w, individual = self.legal_forms[locale].pick(rng)
        company_id = self._id("company")
        created = rng.randint(*window)
        domain = ""
        kpp = registration = ""
        if individual:
            gender, last, first, middle, last_lat, first_lat = self._person(locale)
            person = f"{last} {first} {middle}".strip()
            name = f"{short} {person}"
            legal_name = f"{full} {person}"
            brand = f"{short} {last}"
            tax_id = inn_person(rng, city[4]) if locale == RU else rnokpp(rng)
            if locale == RU:
                registration = ogrn(rng, city[4], individual=True)
            email = self._personal_email(locale, last_lat, first_lat)
            employees = rng.randint(1, 15)
        else:
            first_parts, second_parts, tails = BRAND_PARTS[locale]
            a, b, tail = rng.choice(first_parts.split()), rng.choice(second_parts.split()), rng.choice(tails)
            brand = f"{a} {b}{tail}" if locale == EN else f"{a}{b.lower() if rng.random() < 0.3 else b}{tail}"
            if locale == EN:
                name = legal_name = f"{brand} {short}"
            else:
                name, legal_name = f"{short} «{brand}»", f"{full} «{brand}»"
            base = translit(brand, locale) or "company"
            seen = self.domains.get(base, 0)
            self.domains[base] = seen + 1
            domain = f"{base}{seen if seen else ''}{rng.choice(TLD[locale])}"
            if locale == RU:
                tax_id = inn_legal(rng, city[4])
                kpp = f"{tax_id[:4]}01001"
                registration = ogrn(rng, city[4])
            elif locale == UK:
                tax_id = edrpou(rng)
            else:
                tax_id = f"{rng.randint(10, 99)}-{rng.randint(1000000, 9999999)}"
            email = f"{rng.choice(('info', 'office', 'sales', 'hello' if locale == EN else 'zakaz'))}@{domain}"
            employees = int(math.exp(rng.uniform(math.log(5), math.log(5000))))
        website = f"https://{domain}" if domain and rng.random() < 0.85 else ""
        bank_name, bank_code = rng.choice(BANKS[locale])
        if locale == RU:
            account = ("40802810" if individual else "40702810") + _digits(rng, 12)
        elif locale == UK:
            account = iban_ua(rng, bank_code)
        else:
            account = str(rng.randint(10**9, 10**10 - 1))
        currency_code, currency_id = self._currency(locale)
        revenue = None
        if rng.random() < 0.7:
            low, high = REVENUE_PER_EMPLOYEE.get(currency_code, (100_000, 1_000_000))
            revenue = Decimal(int(rng.uniform(low, high) * employees) // 1000 * 1000)
        address = self._address(locale, city)
        legal_address = address if rng.random() < 0.7 else self._address(locale, city)
        type_id = self.type_weights.pick(rng) if self.type_weights else None
        industry_id = rng.choice(refs.industries) if refs.industries else None
        ts = self._ts(created)
        rows["company"].append((
            company_id, owner.user_id, owner.department_id, opened, ts, ts, owner.user_id, owner.user_id,
            name, type_id, industry_id, employees, revenue, currency_id if revenue is not None else None, address,
            website, legal_name, tax_id, registration, kpp, legal_address, bank_name, bank_code, account,
        ))
        phone = city_phone(rng, locale, city)
        self._comm(rows, "company", company_id, "phone", "work", phone[0], phone[1], True, 0)
        if rng.random() < 0.2:
            other = mobile_phone(rng, locale)
            self._comm(rows, "company", company_id, "phone", "other", other[0], other[1], False, 1)
        self._comm(rows, "company", company_id, "email", "work", email, email.lower(), True, 0)
        if domain and rng.random() < 0.1:
            slug = domain.split(".")[0]
            kind, url = {RU: ("vk", f"https://vk.com/{slug}"), UK: ("facebook", f"https://facebook.com/{slug}"),
                         EN: ("linkedin", f"https://www.linkedin.com/company/{slug}")}[locale]
            self._comm(rows, "company", company_id, "web", kind, url, self.norm_url(url), True, 0)
        ref = CompanyRef(company_id, locale, city, brand, domain, phone, created, type_id)
        self.owner_companies[owner.user_id].append(ref)

    def _contact(self, rows, window):
        rng, refs = self.rng, self.refs
        owner, opened = self.schedules["contact"].draw(rng)
        companies = self.owner_companies[owner.user_id]
        company = rng.choice(companies) if companies and rng.random() < 0.93 else None
        if company is not None:
            locale = company.locale if rng.random() < 0.9 else self._locale()
            created = self._after(company.created, 0, 30 * 86400)
        else:
            locale = self._locale()
            created = rng.randint(*window)
        gender, last, first, middle, last_lat, first_lat = self._person(locale)
        contact_id = self._id("contact")
        position = rng.choice(POSITIONS[company.locale if company else locale]) if company or rng.random() < 0.3 else ""
        honorific = ""
        if locale == EN and rng.random() < 0.6:
            honorific = "dr" if rng.random() < 0.08 else "mr" if gender == "m" else rng.choice(("ms", "mrs"))
        birthday = None
        if rng.random() < 0.4:
            birthday = date(1958, 1, 1) + timedelta(days=rng.randrange(45 * 365))
        city = company.city if company and company.locale == locale else self._city(locale)
        address = self._address(locale, city, office=False) + (
            f", кв. {rng.randint(1, 400)}" if locale != EN else "") if rng.random() < 0.15 else ""
        source_id = rng.choice(refs.sources) if refs.sources and rng.random() < 0.8 else None
        type_id = company.type_id if company else (self.type_weights.pick(rng) if self.type_weights else None)
        comment = rng.choice(COMMENTS[locale]) if rng.random() < 0.05 else ""
        ts = self._ts(created)
        rows["contact"].append((
            contact_id, owner.user_id, owner.department_id, opened, ts, ts, owner.user_id, owner.user_id,
            last, first, middle, honorific, position, birthday, address, source_id, type_id, comment,
        ))
        # phones, e-mails, messengers
        phone = None
        if rng.random() < 0.95:
            phone = mobile_phone(rng, locale)
            self._comm(rows, "contact", contact_id, "phone", "mobile", phone[0], phone[1], True, 0)
        if company is not None and company.phone and rng.random() < 0.25:
            self._comm(rows, "contact", contact_id, "phone", "work", company.phone[0], company.phone[1],
                       phone is None, 1)
        email = ""
        if company is not None and company.domain and rng.random() < 0.85:
            style = rng.randrange(4)
            local = (f"{first_lat}.{last_lat}", f"{first_lat[:1]}.{last_lat}", f"{last_lat}",
                     f"{first_lat}{last_lat[:1]}")[style]
            email = f"{local}@{company.domain}"
            self._comm(rows, "contact", contact_id, "email", "work", email, email, True, 0)
            if rng.random() < 0.12:
                personal = self._personal_email(locale, last_lat, first_lat)
                self._comm(rows, "contact", contact_id, "email", "home", personal, personal, False, 1)
        elif rng.random() < 0.75:
            email = self._personal_email(locale, last_lat, first_lat)
            self._comm(rows, "contact", contact_id, "email", "home", email, email, True, 0)
        if rng.random() < 0.1:
            handle = f"@{first_lat}_{last_lat}" + (str(rng.randint(1, 99)) if rng.random() < 0.5 else "")
            self._comm(rows, "contact", contact_id, "messenger", "telegram", handle, handle.casefold(), True, 0)
        if refs.tags and rng.random() < 0.08:
            rows["contacttag"].append((contact_id, rng.choice(refs.tags)))
        # companies
        if company is not None:
            rows["contactcompany"].append((self._id("contactcompany"), contact_id, company.id, position, True, ts))
            company.contacts.append(contact_id)
            if len(companies) > 1 and rng.random() < 0.12:
                second = rng.choice(companies)
                if second is not company:
                    role = rng.choice(POSITIONS[second.locale])
                    rows["contactcompany"].append((self._id("contactcompany"), contact_id, second.id, role, False,
                                                   ts))
                    second.contacts.append(contact_id)
        ref = ContactRef(contact_id, locale, gender, last, first, middle, position, company, phone, email, created,
                         source_id)
        self.owner_contacts[owner.user_id].append(ref)
        self.convertible[owner.user_id].append(ref)

    def _lead(self, rows, window):
        rng, refs = self.rng, self.refs
        owner, opened = self.schedules["lead"].draw(rng)
        statuses = refs.lead_statuses
        codes = [c for c in ("new", "in_progress", "processed", "converted", "junk") if c in statuses]
        if self.lead_index < len(codes):
            code = codes[self.lead_index]  # every status at any scale
        else:
            code = self.statuses.pick(rng)
        self.lead_index += 1
        lead_id = self._id("lead")
        converted_contact = None
        if code == "converted":
            pool = self.convertible[owner.user_id]
            if pool:
                converted_contact = pool.popleft() if rng.random() < 0.5 else pool.pop()
            elif self.owner_contacts[owner.user_id]:  # all converted already: a repeat request of someone
                converted_contact = rng.choice(self.owner_contacts[owner.user_id])
            else:
                code = "processed"
        if converted_contact is not None:
            person = converted_contact
            locale = person.locale
            last, first, middle, position = person.last, person.first, person.middle, person.position
            company = person.company
            company_name = (company.brand if company else "")
            converted_at = person.created
            created = max(self.start, converted_at - rng.randint(3600, 25 * 86400))
            phone, email = person.phone, person.email
            source_id = person.source_id
        else:
            locale = self._locale()
            gender, last, first, middle, last_lat, first_lat = self._person(locale)
            position = rng.choice(POSITIONS[locale]) if rng.random() < 0.6 else ""
            company_name = ""
            if rng.random() < 0.7:
                first_parts, second_parts, _tails = BRAND_PARTS[locale]
                a, b = rng.choice(first_parts.split()), rng.choice(second_parts.split())
                company_name = f"{a} {b}" if locale == EN else f"{a}{b}"
            created = rng.randint(*window)
            converted_at = None
            phone = mobile_phone(rng, locale) if rng.random() < 0.85 else None
            email = self._personal_email(locale, last_lat, first_lat) if phone is None or rng.random() < 0.65 else ""
            source_id = rng.choice(refs.sources) if refs.sources else None
        templates, topics = LEAD_TITLES[locale]
        title = f"{rng.choice(templates)}: {rng.choice(topics)}"
        if company_name:
            title += f" ({company_name})"
        score = self.scores.pick(rng)
        currency_code, currency_id = self._currency(locale)
        amount = self._amount(currency_code, rng) if rng.random() < 0.6 else None
        if code == "new":
            updated = created
        elif converted_at is not None:
            updated = converted_at
        else:
            updated = self._after(created, 3600, 15 * 86400)
        comment = rng.choice(COMMENTS[locale]) if rng.random() < 0.05 else ""
        conv_company = converted_contact.company.id if converted_contact and converted_contact.company else None
        rows["lead"].append((
            lead_id, owner.user_id, owner.department_id, opened, self._ts(created), self._ts(updated),
            owner.user_id, owner.user_id, title, last, first, middle, position, company_name, source_id,
            statuses[code], score, amount, currency_id if amount is not None else None, comment,
            converted_contact.id if converted_contact else None, conv_company,
            self._ts(converted_at) if converted_at is not None else None,
            owner.user_id if converted_at is not None else None,
        ))
        if phone:
            self._comm(rows, "lead", lead_id, "phone", "mobile", phone[0], phone[1], True, 0)
        if email:
            kind = "home" if email.rpartition("@")[2] in FREE_MAIL_DOMAINS else "work"
            self._comm(rows, "lead", lead_id, "email", kind, email, email, True, 0)
        if converted_contact is not None:
            self.converted_leads[owner.user_id].append((lead_id, converted_contact, converted_at, amount, currency_id))

    def _deal(self, rows, window):
        rng, refs = self.rng, self.refs
        owner, opened = self.schedules["deal"].draw(rng)
        deal_id = self._id("deal")
        if self.deal_index < len(self.all_stages):
            pipeline_code, (stage_id, semantic) = self.all_stages[self.deal_index]  # every stage at any scale
        else:
            pipeline_code = "sales" if "sales" in refs.pipelines and rng.random() < 0.75 else rng.choice(
                list(refs.pipelines))
            stage_id, semantic = self.stages[pipeline_code].pick(rng)
        self.deal_index += 1
        pipeline_id, stages = refs.pipelines[pipeline_code]
        source_lead = None
        converted = self.converted_leads[owner.user_id]
        contacts = []
        if converted and rng.random() < 0.4:
            lead_id, contact, converted_at, amount, currency_id = converted.popleft()
            source_lead = lead_id
            company = contact.company
            contacts.append(contact.id)
            created = self._after(converted_at, 0, 3 * 86400)
        else:
            companies = self.owner_companies[owner.user_id]
            company = rng.choice(companies) if companies and rng.random() < 0.95 else None
            for _retry in range(3):  # rather a company whose people can be on the deal
                if company is None or company.contacts:
                    break
                company = rng.choice(companies)
            if company is not None:
                created = self._after(company.created, 86400, 90 * 86400)
            else:
                created = rng.randint(*window)
            amount = currency_id = None
        if company is not None and company.contacts:
            extra = [c for c in rng.sample(company.contacts, min(len(company.contacts), 2)) if c not in contacts]
            contacts.extend(extra[: max(0, rng.randint(1, 2) - len(contacts))])
        if not contacts:
            pool = self.owner_contacts[owner.user_id]
            if pool:
                contacts.append(rng.choice(pool).id)
        locale = company.locale if company else self._locale()
        if currency_id is None or amount is None:
            currency_code, currency_id = self._currency(locale)
            amount = self._amount(currency_code, rng) if rng.random() < 0.95 else None
        title = rng.choice(DEAL_TITLES[locale, "partners" if pipeline_code == "partners" else "sales"])
        if company is not None:
            title += f" — {company.brand}"
        # the stage path: first stage, some of the stages between, the current one
        progress = [s for s, sem in stages if sem == "progress"]
        path = [stages[0][0]]
        if semantic == "progress":
            target = progress.index(stage_id) if stage_id in progress else 0
            between = progress[1:target]
        elif semantic == "won":
            between = progress[1:]
        else:
            between = progress[1:rng.randint(1, len(progress))] if progress else []
        path.extend(s for s in between if rng.random() < 0.6)
        if stage_id != path[0]:
            path.append(stage_id)
        when = created
        changes = rows["stagechange"]
        previous = None
        for to_stage in path:
            changes.append((deal_id, previous, to_stage, owner.user_id, self._ts(when)))
            previous = to_stage
            last_change = when
            when = self._after(when, 3600, 20 * 86400)
        if semantic == "progress":
            close = self._date(self.now) + timedelta(days=rng.randint(5, 120))
        else:
            close = self._date(last_change)
        ts_created = self._ts(created)
        rows["deal"].append((
            deal_id, owner.user_id, owner.department_id, opened, ts_created, self._ts(last_change),
            owner.user_id, owner.user_id, title, pipeline_id, stage_id, amount,
            currency_id if amount is not None else None, close, company.id if company else None, source_lead,
        ))
        roles = DEAL_ROLES[locale]
        for contact_id in contacts:
            rows["dealcontact"].append((self._id("dealcontact"), deal_id, contact_id, rng.choice(roles), ts_created))

    # -- slices -------------------------------------------------------------------

    def __iter__(self):
        """Slices of about `chunk` contacts; inside a slice, small rounds (companies, their contacts, leads,
        deals) so every company is still in its owner's recent pool when contacts and deals pick one."""
        span = self.now - self.start
        for index in range(self.slices):
            rows = {spec.key: [] for spec in TABLES}
            first = {key: self.next_id[key] for key in self.next_id}
            counts = {key: _split(self.totals[key], self.slices, index) for key in ENTITY_KEYS}
            lo = self.start + span * index // self.slices
            hi = self.start + span * (index + 1) // self.slices
            rounds = max(1, counts["contact"] // ROUND_CONTACTS)
            for round_ in range(rounds):
                start = lo + (hi - lo) * round_ // rounds
                end = lo + (hi - lo) * (round_ + 1) // rounds
                window = (start, max(start, end - 1))
                for _ in range(_split(counts["company"], rounds, round_)):
                    self._company(rows, window)
                for _ in range(_split(counts["contact"], rounds, round_)):
                    self._contact(rows, window)
                for _ in range(_split(counts["lead"], rounds, round_)):
                    self._lead(rows, window)
                for _ in range(_split(counts["deal"], rounds, round_)):
                    self._deal(rows, window)
            id_ranges = {key: (first[key], self.next_id[key] - 1) for key in first if self.next_id[key] > first[key]}
            yield Slice(index, rows, id_ranges, {key: len(value) for key, value in rows.items()})


# ---------------------------------------------------------------------------
# Writers


def _initial_state(refs):
    """Per audited entity: values of the '+' history row when the record was created in another state.

    Returns {table key: (python overrides(row dict) -> dict, sql overrides {column: sql}, sql "changed" condition)}.
    """
    new_status = refs.lead_statuses.get("new")
    first_stage = {pid: stages[0][0] for pid, stages in refs.pipelines.values()}
    states = {}
    if first_stage:
        case = "CASE pipeline_id " + " ".join(f"WHEN {int(p)} THEN {int(s)}" for p, s in first_stage.items()) + " END"
        states["deal"] = (
            lambda row: {"stage_id": first_stage[row["pipeline_id"]], "updated_at": row["created_at"]},
            {"stage_id": case, "updated_at": "created_at"},
            f"stage_id <> {case}",
        )
    if new_status is not None:
        states["lead"] = (
            lambda row: {"status_id": new_status, "updated_at": row["created_at"], "converted_contact_id": None,
                         "converted_company_id": None, "converted_at": None, "converted_by_id": None},
            {"status_id": str(int(new_status)), "updated_at": "created_at", "converted_contact_id": "NULL",
             "converted_company_id": "NULL", "converted_at": "NULL", "converted_by_id": "NULL"},
            f"status_id <> {int(new_status)}",
        )
    return states


def _missing_fields(spec):
    """Concrete fields a spec does not fill, with their defaults."""
    model = spec.model
    filled = set(spec.fields)
    missing = []
    for f in model._meta.concrete_fields:
        if f.attname in filled or (not spec.explicit_ids and f.primary_key):
            continue
        missing.append((f, f.get_default()))
    return missing


def _parse_moments(values, names):
    """The generator's ISO 8601 moments as datetimes (for the ORM)."""
    for name in names:
        if isinstance(values[name], str):
            values[name] = datetime.fromisoformat(values[name])
    return values


class OrmWriter:
    """Any database: simple-history's bulk helpers, batch by batch (keeps audit history complete)."""

    fast = False
    label = "ORM bulk_create_with_history"
    batch_size = 500

    def __init__(self, connection):
        self.connection = connection

    def begin(self, refs, users, contacts=0):
        self.users = users
        self.timings = {}
        self.states = _initial_state(refs)
        first_ids = {}
        for spec in TABLES:
            if spec.explicit_ids:
                top = spec.model._base_manager.aggregate(top=models.Max("pk"))["top"] or 0
                first_ids[spec.key] = top + 1
        return first_ids

    def prepare(self, slice_):
        return None

    def write(self, slice_):
        from contextlib import ExitStack

        with ExitStack() as stack:
            for spec in TABLES:
                rows = slice_.rows.get(spec.key)
                if not rows:
                    continue
                model = spec.model
                stack.enter_context(_explicit_timestamps(model))
                moments = [n for n in spec.fields if isinstance(model._meta.get_field(n), models.DateTimeField)]
                objs = [model(**_parse_moments(dict(zip(spec.fields, row, strict=True)), moments)) for row in rows]
                if not spec.audited:
                    model._base_manager.bulk_create(objs, batch_size=self.batch_size)
                    continue
                state = self.states.get(spec.key)
                finals = []
                for obj in objs:
                    if spec.crm:
                        obj._history_user = self.users.get(obj.owner_id)
                        obj._history_date = obj.created_at
                    if state is not None:
                        initial = state[0](obj.__dict__)
                        changed = {k: v for k, v in initial.items() if getattr(obj, k) != v}
                        if any(k.endswith(("status_id", "stage_id")) for k in changed):
                            finals.append((obj, {k: getattr(obj, k) for k in changed}))
                            for k, v in initial.items():
                                setattr(obj, k, v)
                bulk_create_with_history(objs, model, batch_size=self.batch_size)
                if finals:
                    names = sorted({k for _obj, values in finals for k in values})
                    changed_objs = []
                    for obj, values in finals:
                        for k, v in values.items():
                            setattr(obj, k, v)
                        obj._history_date = obj.updated_at
                        obj._history_user = self.users.get(obj.updated_by_id)
                        changed_objs.append(obj)
                    fields = [model._meta.get_field(n[:-3] if n.endswith("_id") else n).name for n in names]
                    bulk_update_with_history(changed_objs, model, fields, batch_size=self.batch_size)

    def finish(self):
        """Explicit ids were written: move the databases' sequences past them (a no-op on SQLite)."""
        from django.core.management.color import no_style

        statements = self.connection.ops.sequence_reset_sql(no_style(), [spec.model for spec in TABLES])
        if statements:
            with self.connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)


class _local_settings:
    """Set PostgreSQL settings for the rest of the transaction, and put the previous values back on exit."""

    def __init__(self, cursor, **values):
        self.cursor, self.values, self.saved = cursor, values, {}

    def __enter__(self):
        for name, value in self.values.items():
            self.cursor.execute("SELECT current_setting(%s), set_config(%s, %s, true)", [name, name, value])
            self.saved[name] = self.cursor.fetchone()[0]
        return self

    def __exit__(self, exc_type, *exc):
        if exc_type is None:  # after an error the transaction is aborted and rolled back anyway
            for name, value in self.saved.items():
                self.cursor.execute("SELECT set_config(%s, %s, true)", [name, value])
        return False


class _explicit_timestamps:
    """Let bulk_create keep the generated created_at/updated_at (auto_now/auto_now_add would overwrite them)."""

    def __init__(self, model):
        self.fields = [f for f in model._meta.concrete_fields if getattr(f, "auto_now", False)
                       or getattr(f, "auto_now_add", False)]
        self.saved = []

    def __enter__(self):
        for f in self.fields:
            self.saved.append((f, f.auto_now, f.auto_now_add))
            f.auto_now = f.auto_now_add = False
        return self

    def __exit__(self, *exc):
        for f, auto_now, auto_now_add in self.saved:
            f.auto_now, f.auto_now_add = auto_now, auto_now_add
        return False


_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_PLAIN_FIELDS = (models.IntegerField, models.AutoField, models.ForeignKey, models.BooleanField, models.CharField,
                 models.TextField, models.DateField, models.DecimalField)  # str(value) is valid COPY input
_NULL = {None: "\\N"}


def _copy_converter(f):
    if isinstance(f, models.BooleanField):
        return lambda v: "\\N" if v is None else ("t" if v else "f")
    if isinstance(f, models.JSONField):
        return lambda v: "\\N" if v is None else json.dumps(v, cls=DjangoJSONEncoder).translate(_COPY_ESCAPE)
    if isinstance(f, (models.DateTimeField, models.DateField)):
        return lambda v: "\\N" if v is None else v if isinstance(v, str) else v.isoformat()
    if isinstance(f, (models.CharField, models.TextField)):
        return lambda v: "\\N" if v is None else v.translate(_COPY_ESCAPE)
    return lambda v: "\\N" if v is None else str(v)


def _copy_text(rows, converters, suffix, plain):
    """COPY text of the rows.

    Quick way when every column is `plain`: str() of each value (None as \\N, booleans as True/False and
    datetimes as '2024-05-01 10:00:00+00:00' are valid input), all in C. It is kept only if counting tabs,
    newlines and backslashes proves that no value needed escaping; otherwise every value is converted and
    escaped one by one.
    """
    if plain and rows:
        get = _NULL.get
        tail = suffix + "\n"
        text = "".join(["\t".join(map(str, map(get, row, row))) + tail for row in rows])
        n = len(rows)
        nulls = sum(map(tuple.count, rows, itertools.repeat(None)))
        if (text.count("\n") == n and text.count("\t") == n * (len(converters) - 1 + suffix.count("\t"))
                and text.count("\\") == nulls + n * suffix.count("\\") and "\r" not in text):
            return text
    pairs = list(enumerate(converters))
    return "".join("\t".join([conv(row[i]) for i, conv in pairs]) + suffix + "\n" for row in rows)


class PostgresCopyWriter:
    """PostgreSQL: COPY each slice into its tables, then INSERT ... SELECT the history rows of the same ids.

    Runs inside the caller's transaction; the tables written are locked (EXCLUSIVE: reads go on, writes wait)
    so the ids handed out cannot collide, and the identity sequences are moved past them at the end.

    Where the time goes, measured (20,000 contacts ≈ 360,000 rows with history, 2 cores): foreign-key
    triggers (≈ 60 % of COPY), then B-tree inserts into the ~15 indexes of each table and history table.
    So, when the role may (superuser, or granted SET on the parameter), the foreign-key triggers are
    skipped with `session_replication_role = replica` and every foreign key of the new rows is checked
    instead by one anti-join per table at the end (`_check_references`, as ALTER TABLE ... VALIDATE does).
    A big load (`rebuild_indexes`: at least BULK_CONTACTS contacts and no fewer than are already there)
    also drops the non-unique indexes of the tables it writes and rebuilds them at the end from their own
    definitions (sorting once is several times cheaper than inserting row by row); the tables are then
    locked ACCESS EXCLUSIVE (reads wait too) until the commit. Primary keys and unique indexes stay.
    """

    fast = True
    label = "PostgreSQL COPY"
    BULK_CONTACTS = 50_000

    def __init__(self, connection, *, rebuild_indexes=None):
        self.connection = connection
        self.rebuild_indexes = rebuild_indexes  # None: decided in begin() from the number of contacts

    def begin(self, refs, users, contacts=0):
        qn = self.connection.ops.quote_name
        self.states = _initial_state(refs)
        self.layout = {}
        for spec in TABLES:
            model = spec.model
            missing = _missing_fields(spec)
            columns = [model._meta.get_field(name).column for name in spec.fields] + [f.column for f, _v in missing]
            fields = [model._meta.get_field(name) for name in spec.fields]
            converters = [_copy_converter(f) for f in fields]
            plain = all(isinstance(f, _PLAIN_FIELDS) for f in fields)
            suffix = "".join("\t" + _copy_converter(f)(value) for f, value in missing)
            self.layout[spec.key] = (model._meta.db_table, columns, converters, suffix, plain)
        self.encoding = self.connection.connection.info.encoding
        self.tables = [spec.model._meta.db_table for spec in TABLES]
        self.tables += [spec.model.history.model._meta.db_table for spec in TABLES if spec.audited]
        first_ids = {}
        with self.connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SELECT set_config('synchronous_commit', 'off', true)")  # one commit, nothing lost
            if self.rebuild_indexes is None:
                cursor.execute(f"SELECT count(*) FROM {qn(TABLES_BY_KEY['contact'].model._meta.db_table)}")
                self.rebuild_indexes = contacts >= max(self.BULK_CONTACTS, cursor.fetchone()[0])
            mode = "ACCESS EXCLUSIVE" if self.rebuild_indexes else "EXCLUSIVE"
            cursor.execute(f"LOCK TABLE {', '.join(qn(t) for t in self.tables)} IN {mode} MODE")
            self.skip_triggers = self._skip_foreign_key_triggers(cursor)
            self.high_water = {}  # table -> (primary key column, largest key before the load)
            for table in self.tables:
                pk = self._primary_key(cursor, table)
                cursor.execute(f"SELECT MAX({qn(pk)}) FROM {qn(table)}")
                self.high_water[table] = (pk, cursor.fetchone()[0] or 0)
            for spec in TABLES:
                if not spec.explicit_ids:
                    continue
                table = spec.model._meta.db_table
                cursor.execute(
                    f"SELECT GREATEST((SELECT MAX(id) FROM {qn(table)}), "
                    f"pg_sequence_last_value(pg_get_serial_sequence(%s, 'id')), 0)",
                    [table],
                )
                first_ids[spec.key] = int(cursor.fetchone()[0]) + 1
            self.dropped_indexes = self._drop_indexes(cursor) if self.rebuild_indexes else []
        self.touched = set()
        self.timings = {}
        return first_ids

    def _skip_foreign_key_triggers(self, cursor):
        """Turn the per-row foreign-key triggers off for this transaction if the role may; True if done."""
        cursor.execute("SELECT current_setting('session_replication_role')")
        self.replication_role = cursor.fetchone()[0]
        try:
            with transaction.atomic(using=self.connection.alias):  # a savepoint: a refusal is not fatal
                cursor.execute("SELECT set_config('session_replication_role', 'replica', true)")
        except DatabaseError:
            return False
        return True

    @staticmethod
    def _primary_key(cursor, table):
        cursor.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = i.indkey[0] WHERE i.indrelid = %s::regclass AND i.indisprimary",
            [table],
        )
        return cursor.fetchone()[0]

    def _drop_indexes(self, cursor):
        """Drop the non-unique indexes of the written tables; returns their definitions to rebuild them."""
        cursor.execute(
            "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
            "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisunique AND NOT i.indisprimary "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) "
            "ORDER BY i.indexrelid",
            [self.tables],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX {name}")
        return indexes

    def prepare(self, slice_):
        """COPY text per table, encoded (runs in the generator thread)."""
        out = {}
        for key, rows in slice_.rows.items():
            if rows:
                _table, _columns, converters, suffix, plain = self.layout[key]
                out[key] = _copy_text(rows, converters, suffix, plain).encode(self.encoding)
        return out

    def write(self, slice_):
        qn = self.connection.ops.quote_name
        texts = slice_.prepared if slice_.prepared is not None else self.prepare(slice_)
        with self.connection.cursor() as cursor:
            raw = cursor.cursor
            for spec in TABLES:
                text = texts.get(spec.key)
                if not text:
                    continue
                table, columns, *_rest = self.layout[spec.key]
                with raw.copy(f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN") as copy:
                    copy.write(text)
                self.touched.add(table)
                if spec.audited:
                    lo, hi = slice_.id_ranges[spec.key]
                    self._history(raw, spec, lo, hi)

    def finish(self):
        """Check the references the triggers skipped, rebuild the dropped indexes, move the sequences on."""
        qn = self.connection.ops.quote_name
        with self.connection.cursor() as cursor:
            if self.skip_triggers:
                started = time.perf_counter()
                with _local_settings(cursor, work_mem="256MB"):
                    self._check_references(cursor)
                cursor.execute("SELECT set_config('session_replication_role', %s, true)", [self.replication_role])
                self.timings["reference check"] = time.perf_counter() - started
            if self.dropped_indexes:
                started = time.perf_counter()
                with _local_settings(cursor, maintenance_work_mem="512MB"):
                    for _name, definition in self.dropped_indexes:
                        cursor.execute(definition)
                self.timings[f"{len(self.dropped_indexes)} indexes rebuilt"] = time.perf_counter() - started
            for spec in TABLES:
                table = spec.model._meta.db_table
                if table not in self.touched:
                    continue
                pk = spec.model._meta.pk.column
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, %s), GREATEST((SELECT MAX({qn(pk)}) FROM {qn(table)}), "
                    f"pg_sequence_last_value(pg_get_serial_sequence(%s, %s)), 1))",
                    [table, pk, table, pk],
                )
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def _check_references(self, cursor):
        """Every foreign key of the rows added (the ones above the high-water mark) points at a row.

        One query per table, a hash anti-join per foreign key: what the skipped triggers would have checked.
        """
        qn = self.connection.ops.quote_name
        for table in self.tables:
            pk, high = self.high_water[table]
            cursor.execute(
                "SELECT c.conname, c.confrelid::regclass::text, "
                "ARRAY(SELECT a.attname FROM unnest(c.conkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a "
                "ON a.attrelid = c.conrelid AND a.attnum = k.n ORDER BY k.o)::text[], "
                "ARRAY(SELECT a.attname FROM unnest(c.confkey) WITH ORDINALITY k(n, o) JOIN pg_attribute a "
                "ON a.attrelid = c.confrelid AND a.attnum = k.n ORDER BY k.o)::text[] "
                "FROM pg_constraint c WHERE c.contype = 'f' AND c.conrelid = %s::regclass ORDER BY c.conname",
                [table],
            )
            keys = cursor.fetchall()
            if not keys:
                continue
            joins, counts = [], []
            for n, (_name, target, columns, target_columns) in enumerate(keys):
                on = " AND ".join(f"r{n}.{qn(tc)} = t.{qn(c)}" for c, tc in zip(columns, target_columns, strict=True))
                joins.append(f"LEFT JOIN {target} r{n} ON {on}")
                present = " AND ".join(f"t.{qn(c)} IS NOT NULL" for c in columns)
                counts.append(f"count(*) FILTER (WHERE {present} AND r{n}.{qn(target_columns[0])} IS NULL)")
            cursor.execute(
                f"SELECT {', '.join(counts)} FROM {qn(table)} t {' '.join(joins)} WHERE t.{qn(pk)} > %s", [high]
            )
            broken = [(name, bad) for (name, *_rest), bad in zip(keys, cursor.fetchone(), strict=True) if bad]
            if broken:
                raise IntegrityError(f"seed_demo: rows of {table} point at missing rows: {broken}")

    def _history(self, cursor, spec, lo, hi):
        qn = self.connection.ops.quote_name
        model = spec.model
        history = model.history.model
        tracked = [f.column for f in history.tracked_fields]
        table, hist_table = qn(model._meta.db_table), qn(history._meta.db_table)
        extra = ["history_date", "history_type", "history_change_reason", "history_user_id"]
        known = set(tracked) | set(extra) | {"history_id"}
        more = [(f.column, f.get_default()) for f in history._meta.concrete_fields if f.column not in known]
        target = ", ".join(qn(c) for c in tracked + extra + [c for c, _v in more])
        params_more = [v for _c, v in more]
        tail = "".join(", %s" for _ in more)
        state = self.states.get(spec.key)
        overrides = state[1] if state else {}
        if spec.crm:
            date_sql, user_sql = "created_at", "created_by_id"
        elif any(f.column == "created_at" for f in model._meta.concrete_fields):
            date_sql, user_sql = "created_at", "NULL"
        else:
            date_sql, user_sql = "statement_timestamp()", "NULL"
        select = ", ".join(overrides.get(c, qn(c)) for c in tracked)
        cursor.execute(
            f"INSERT INTO {hist_table} ({target}) SELECT {select}, {date_sql}, '+', NULL, {user_sql}{tail} "
            f"FROM {table} WHERE id BETWEEN %s AND %s ORDER BY id",
            [*params_more, lo, hi],
        )
        if state:
            select = ", ".join(qn(c) for c in tracked)
            cursor.execute(
                f"INSERT INTO {hist_table} ({target}) SELECT {select}, updated_at, '~', NULL, updated_by_id{tail} "
                f"FROM {table} WHERE id BETWEEN %s AND %s AND {state[2]} ORDER BY id",
                [*params_more, lo, hi],
            )

    def analyze(self):
        qn = self.connection.ops.quote_name
        tables = set(self.touched)
        for spec in TABLES:
            if spec.audited and spec.model._meta.db_table in tables:
                tables.add(spec.model.history.model._meta.db_table)
        with self.connection.cursor() as cursor:
            for table in sorted(tables):
                cursor.execute(f"ANALYZE {qn(table)}")


def writer_for(connection, *, rebuild_indexes=None):
    """The fast COPY path on PostgreSQL (psycopg 3), simple-history's bulk helpers elsewhere.

    `rebuild_indexes` (PostgreSQL only): True/False forces dropping and rebuilding the non-unique indexes;
    None decides from the size of the load.
    """
    if connection.vendor == "postgresql" and getattr(connection.Database, "__name__", "") == "psycopg":
        return PostgresCopyWriter(connection, rebuild_indexes=rebuild_indexes)
    return OrmWriter(connection)


# ---------------------------------------------------------------------------
# Orchestration


@dataclass
class SeedResult:
    counts: dict
    seconds: float
    writer: str
    fast: bool
    phases: dict = field(default_factory=dict)  # what took how long (s): rows, reference check, indexes, ANALYZE


def _produce(generator, writer, out, stop):
    """Worker thread: generate and prepare slices; hand over the end (None) or the error."""

    def put(item):
        while not stop.is_set():
            try:
                out.put(item, timeout=0.5)
                return True
            except queue.Full:
                continue
        return False

    try:
        for slice_ in generator:
            slice_.prepared = writer.prepare(slice_)
            if slice_.prepared is not None:
                slice_.rows = None  # the COPY text is all the writer needs
            if not put(slice_):
                return
        put(None)
    except BaseException as error:  # handed to the main thread, which re-raises it
        put(error)


def seed_demo_data(*, users, contacts, seed, chunk=20_000, progress=None, connection=None, rebuild_indexes=None):
    """Generate and write the demo records (users must exist). Returns a `SeedResult`.

    Generation (and COPY text formatting) runs in a worker thread while the main thread writes, so on
    PostgreSQL the database and Python work in parallel. Everything is one transaction.
    """
    from django.db import connection as default_connection

    connection = connection or default_connection
    writer = writer_for(connection, rebuild_indexes=rebuild_indexes)
    started = time.perf_counter()
    totals = {spec.key: 0 for spec in TABLES}
    with transaction.atomic(using=connection.alias):
        refs = References.load()
        owners = demo_owners(users)
        first_ids = writer.begin(refs, {u.pk: u for u in users.values()}, contacts=contacts)
        generator = DemoGenerator(seed=seed, contacts=contacts, owners=owners, refs=refs, first_ids=first_ids,
                                  chunk=chunk)
        slices = queue.Queue(maxsize=2)
        stop = threading.Event()
        worker = threading.Thread(target=_produce, args=(generator, writer, slices, stop), daemon=True,
                                  name="seed-demo-generator")
        worker.start()
        try:
            while True:
                item = slices.get()
                if item is None:
                    break
                if isinstance(item, BaseException):
                    raise item
                writer.write(item)
                for key in totals:
                    totals[key] += item.counts.get(key, 0)
                if progress:
                    progress(item.index + 1, generator.slices, dict(totals), time.perf_counter() - started)
        finally:
            stop.set()
            worker.join()
        phases = {"rows and history": time.perf_counter() - started}
        writer.finish()
    phases.update(writer.timings)
    if writer.fast:
        analyzed = time.perf_counter()
        writer.analyze()
        phases["ANALYZE"] = time.perf_counter() - analyzed
    return SeedResult(totals, time.perf_counter() - started, writer.label, writer.fast, phases)
