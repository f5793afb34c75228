"""Entity-agnostic word pools: people's names, places, organisation names, job titles, money.

Last names and street names come from Faker's locale data, picked once per seed (`build_pools`): Faker
itself is far too slow to call per row. Pools only one kind of record uses live in that record's app.
"""

from dataclasses import dataclass

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
# organisation names, for any record that names one: first part + second part + tail
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
# job titles of a person at an organisation
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
# comments on a client
COMMENTS = {
    RU: ["Предпочитает связь по e-mail", "Звонить после 14:00", "Познакомились на выставке", "Лояльный клиент",
         "Просил прислать прайс-лист", "Решения принимает вместе с директором"],
    UK: ["Надає перевагу e-mail", "Телефонувати після 14:00", "Познайомилися на виставці", "Лояльний клієнт",
         "Просив надіслати прайс", "Рішення ухвалює разом із директором"],
    EN: ["Prefers e-mail", "Call after 2 pm", "Met at the trade show", "Loyal customer", "Asked for the price list",
         "Decides together with the CEO"],
}
# currency codes by the locale, with weights
CURRENCIES = {RU: (("rub", 88), ("usd", 8), ("eur", 4)), UK: (("uah", 80), ("usd", 12), ("eur", 8)),
              EN: (("usd", 92), ("eur", 8))}
# money asked for or expected, log-uniform in the range
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

