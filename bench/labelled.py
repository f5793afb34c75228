"""A harder labelled duplicate set, generated independently of the matcher's rules (issue 18).

Nothing here imports dedup: the corruptions are modelled on how people enter data, not on what the engine
folds. People (Russian, Ukrainian, English; names, patronymics and genders that agree) work at companies with
an office switchboard and a mail domain; some companies have branches. A share of them are entered again,
each copy with one to three corruptions drawn per field:

  typo (a letter dropped, doubled, swapped, or a neighbouring key), ocr (look-alike letters), translit (a
  Latin spelling by one of the schemas people use: passport, GOST 7.79, BGN, Wikipedia, Telegram-style,
  Ukrainian national), swapped (first and last name in each other's fields), missing_patronymic, initials,
  nickname (a diminutive from this file's own list), case (UPPER/lower, spaces), missing_fields, phone_format
  (with or without the country code, 8-prefix, an extension), address_format (abbreviations, order, flat),
  date_error (a day or a month off, day and month swapped), changed_company (a new employer: new work phone
  and email, the personal ones kept), ru_uk_form (the Russian form of a Ukrainian name, or back).

Hard negatives, in tagged groups (whose members are duplicated like anyone else):
  colleagues (the same office phone and mail domain, sometimes a shared info@ mailbox), namesakes (the same
  common full name, other phones and birthdays), family (spouses or parent and child: a home phone, a home
  email, an address), branches (people at two branches of one company: the central line and the domain).

Each group of people (a person with their copies, or a hard-negative group with everyone's copies) goes to the
estimation part or the judging part, so weights estimated on one part are judged on the other.
"""

import importlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

LOCALES = (("ru", "ru_RU", 0.5), ("uk", "uk_UA", 0.3), ("en", "en_US", 0.2))
POSITIVE_CASES = ("typo", "ocr", "translit", "swapped", "missing_patronymic", "initials", "nickname", "case",
                  "missing_fields", "phone_format", "address_format", "date_error", "changed_company",
                  "ru_uk_form")
NEGATIVE_CASES = ("colleagues", "namesakes", "family", "branches")

# The generator's own nicknames (not the engine's table): some forms are deliberately not in it.
NICKNAMES = {
    "Александр": ["Саша", "Саня", "Шурик", "Алекс"], "Алексей": ["Лёша", "Алёша", "Лёха"],
    "Андрей": ["Андрюша"], "Анатолий": ["Толя"], "Борис": ["Боря"], "Василий": ["Вася"], "Виктор": ["Витя"],
    "Владимир": ["Вова", "Володя"], "Дмитрий": ["Дима", "Митя"], "Евгений": ["Женя"], "Иван": ["Ваня"],
    "Игорь": ["Игорёк"], "Константин": ["Костя"], "Михаил": ["Миша"], "Николай": ["Коля"], "Павел": ["Паша"],
    "Пётр": ["Петя"], "Сергей": ["Серёжа", "Серёга"], "Юрий": ["Юра"], "Григорий": ["Гриша"],
    "Анна": ["Аня"], "Екатерина": ["Катя"], "Елена": ["Лена"], "Мария": ["Маша"], "Наталья": ["Наташа"],
    "Ольга": ["Оля"], "Татьяна": ["Таня"], "Ирина": ["Ира"], "Светлана": ["Света"], "Юлия": ["Юля"],
    "Людмила": ["Люда"], "Галина": ["Галя"], "Надежда": ["Надя"], "Любовь": ["Люба"],
    "Олександр": ["Сашко", "Саша"], "Олексій": ["Льоша"], "Микола": ["Коля", "Миколка"], "Іван": ["Івась"],
    "Петро": ["Петрик"], "Василь": ["Васильок"], "Тарас": ["Тарасик"], "Марія": ["Марічка"],
    "Оксана": ["Ксана"], "Ганна": ["Ганя"], "Катерина": ["Катруся"],
    "William": ["Bill", "Will"], "Robert": ["Bob", "Rob"], "Richard": ["Rick"], "James": ["Jim"],
    "Michael": ["Mike"], "Thomas": ["Tom"], "Elizabeth": ["Liz", "Beth"], "Jennifer": ["Jen"],
    "Patricia": ["Pat"], "Katherine": ["Kate"], "Margaret": ["Maggie"], "Christopher": ["Chris"],
}
RU_UK = {"Александр": "Олександр", "Алексей": "Олексій", "Николай": "Микола", "Пётр": "Петро", "Иван": "Іван",
         "Елена": "Олена", "Григорий": "Григорій", "Сергей": "Сергій", "Андрей": "Андрій", "Дмитрий": "Дмитро",
         "Анна": "Ганна", "Екатерина": "Катерина", "Наталья": "Наталія", "Татьяна": "Тетяна", "Юрий": "Юрій",
         "Василий": "Василь", "Михаил": "Михайло", "Павел": "Павло", "Ирина": "Ірина", "Мария": "Марія"}
_UK_RU = {v: k for k, v in RU_UK.items()}

_OCR = [("ш", "щ"), ("и", "й"), ("е", "ё"), ("л", "п"), ("ь", "ъ"), ("з", "3"), ("о", "0"), ("rn", "m"),
        ("cl", "d"), ("l", "1"), ("O", "0"), ("н", "и"), ("ц", "u"), ("в", "з")]
_KEYBOARD_RU = ["йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю"]
_KEYBOARD_EN = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]

# Latin spellings people write: a few schemas by hand (the generator does not share the engine's folding).
_PASSPORT = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
             "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
             "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie",
             "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia", "і": "i", "ї": "i", "є": "ie", "ґ": "g"}
_GOST_B = {**_PASSPORT, "ё": "yo", "й": "j", "х": "x", "ц": "cz", "щ": "shh", "ъ": "``", "ы": "y'", "ь": "`",
           "э": "e`", "ю": "yu", "я": "ya"}
_BGN = {**_PASSPORT, "е": "e", "ё": "ë", "й": "y", "ъ": "”", "ы": "y", "ь": "’", "ю": "yu", "я": "ya"}
_INFORMAL = {**_PASSPORT, "й": "y", "х": "h", "щ": "sch", "ъ": "", "ю": "yu", "я": "ya", "ё": "yo", "ж": "j",
             "ц": "c", "ч": "ch"}
_UKRAINIAN = {**_PASSPORT, "г": "h", "и": "y", "й": "i", "ї": "i", "є": "ie", "ю": "iu", "я": "ia", "х": "kh"}
SCHEMES = {"passport": _PASSPORT, "gost_b": _GOST_B, "bgn": _BGN, "informal": _INFORMAL, "ukrainian": _UKRAINIAN}

STREETS = {"ru": ["Тверская", "Ленина", "Мира", "Садовая", "Пушкина", "Гагарина", "Невский проспект", "Арбат"],
           "uk": ["Хрещатик", "Шевченка", "Лесі Українки", "Франка", "Сумська", "Дерибасівська"],
           "en": ["Main St", "Oak Ave", "Broadway", "Park Rd", "Elm St", "Maple Ave"]}
CITIES = {"ru": ["Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск"],
          "uk": ["Київ", "Львів", "Харків", "Одеса", "Дніпро"],
          "en": ["New York", "Boston", "Chicago", "San Francisco", "Denver"]}
PUBLIC_DOMAINS = {"ru": ["mail.ru", "yandex.ru", "gmail.com", "bk.ru"], "uk": ["ukr.net", "gmail.com", "i.ua"],
                  "en": ["gmail.com", "outlook.com", "yahoo.com"]}


@dataclass
class Company:
    index: int
    locale: str
    name: str
    phone: tuple
    domain: str
    branch_of: int | None = None


@dataclass
class Person:
    cluster: int
    group: int  # people generated together (a person and copies, or a hard-negative group): one part
    locale: str
    gender: str
    last_name: str
    first_name: str
    middle_name: str = ""
    birthday: date | None = None
    address: str = ""
    position: str = ""
    company: int | None = None
    phones: list = field(default_factory=list)
    emails: list = field(default_factory=list)
    cases: set = field(default_factory=set)  # corruption or hard-negative tags
    part: str = "estimate"
    # truth of the values, for the corruptions of copies
    mobile: tuple | None = None
    personal_email: str = ""


def _pools():
    pools = {}
    for code, locale, _weight in LOCALES:
        module = importlib.import_module(f"faker.providers.person.{locale}").Provider

        def names(attr, fallback, module=module):
            return sorted(getattr(module, attr, None) or getattr(module, fallback))

        pools[code] = {
            "male": (names("last_names_male", "last_names"), names("first_names_male", "first_names"),
                     sorted(getattr(module, "middle_names_male", ()) or ())),
            "female": (names("last_names_female", "last_names"), names("first_names_female", "first_names"),
                       sorted(getattr(module, "middle_names_female", ()) or ())),
        }
    return pools


def _translit(text, table):
    out = []
    for ch in text:
        low = ch.lower()
        rep = table.get(low, low)
        out.append(rep.capitalize() if ch.isupper() and rep else rep)
    return "".join(out)


def _phone(rng, locale):
    if locale == "ru":
        return ("ru", rng.choice(["495", "499", "812", "343", "916", "903", "925", "985"]), f"{rng.randrange(10**7):07d}")
    if locale == "uk":
        return ("uk", rng.choice(["44", "67", "50", "97", "63", "32", "93"]), f"{rng.randrange(10**7):07d}")
    return ("en", rng.choice(["212", "415", "617", "312", "646", "303"]), f"{rng.randrange(2 * 10**6, 10**7):07d}")


def format_phone(rng, phone, variant):
    country, area, sub = phone
    a, b, c = sub[:3], sub[3:5], sub[5:]
    if country == "ru":
        formats = [f"+7 {area} {a}-{b}-{c}", f"8 ({area}) {a}-{b}-{c}", f"8{area}{sub}", f"+7({area}){sub}",
                   f"({area}) {a} {b} {c}", f"+7 {area} {a}-{b}-{c} доб. {rng.randrange(10, 99)}", f"7{area}{sub}"]
    elif country == "uk":
        formats = [f"+380 {area} {a} {b} {c}", f"+380{area}{sub}", f"+38 (0{area}) {a}-{b}-{c}",
                   f"380 {area} {sub}", f"0{area} {a} {b} {c}", f"(0{area}) {a}-{b}-{c}"]
    else:
        formats = [f"+1 {area} {sub[:3]} {sub[3:]}", f"+1 ({area}) {sub[:3]}-{sub[3:]}", f"+1{area}{sub}",
                   f"+1 {area}-{sub[:3]}-{sub[3:]} ext. 5", f"1-{area}-{sub[:3]}-{sub[3:]}"]
    return formats[0] if not variant else rng.choice(formats)


def _address(rng, locale):
    city, street = rng.choice(CITIES[locale]), rng.choice(STREETS[locale])
    house, flat = rng.randrange(1, 200), rng.randrange(1, 300)
    if locale == "en":
        return f"{house} {street}, apt {flat}, {city}"
    word = "ул." if locale == "ru" else "вул."
    return f"{city}, {word} {street}, д. {house}, кв. {flat}" if locale == "ru" else f"{city}, {word} {street}, {house}, кв. {flat}"


def _reformat_address(rng, address, locale):
    """The same address written otherwise: abbreviations expanded or dropped, parts reordered, the flat dropped."""
    out = address
    choice = rng.random()
    if choice < 0.3:
        out = out.replace("ул.", "улица").replace("вул.", "вулиця").replace("д. ", "дом ").replace("кв.", "квартира")
    elif choice < 0.55:
        parts = [p.strip() for p in out.split(",")]
        out = ", ".join(parts[1:] + parts[:1])  # city moved to the end
    elif choice < 0.8:
        out = ", ".join(p for p in out.split(",") if "кв" not in p and "apt" not in p)
    else:
        out = out.replace(",", "").replace(".", "")
    return out


def _local(rng, text):
    return _translit(text, _PASSPORT).lower().replace(" ", "").replace("'", "")


def _typo(rng, word):
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.3:
        return word[:i] + word[i + 1:]
    if kind < 0.55:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]
    if kind < 0.7:
        return word[:i] + word[i] + word[i:]
    rows = _KEYBOARD_RU if not word[i].isascii() else _KEYBOARD_EN
    for row in rows:
        pos = row.find(word[i].lower())
        if pos >= 0:
            neighbour = row[max(pos - 1, 0)] if pos and rng.random() < 0.5 else row[min(pos + 1, len(row) - 1)]
            return word[:i] + neighbour + word[i + 1:]
    return word


def _ocr(rng, word):
    options = [(a, b) for a, b in _OCR if a in word] + [(b, a) for a, b in _OCR if b in word]
    if not options:
        return _typo(rng, word)
    a, b = rng.choice(options)
    return word.replace(a, b, 1)


def generate(n, seed=42, duplicate_share=0.22):
    """`n` contact cards and the companies they work at: (people, companies). `cluster` is the truth."""
    rng = random.Random(seed)
    pools = _pools()
    companies = _companies(rng, max(20, n // 30))
    people = []
    state = {"cluster": 0, "group": 0}
    weights = [w for _c, _l, w in LOCALES]
    employers = [c for c in companies if c.branch_of is None]

    def new_person(locale=None, gender=None, **overrides):
        locale = locale or rng.choices([c for c, _l, _w in LOCALES], weights)[0]
        gender = gender or rng.choice(["male", "female"])
        lasts, firsts, middles = pools[locale][gender]
        person = Person(cluster=state["cluster"], group=state["group"], locale=locale, gender=gender,
                        last_name=rng.choice(lasts), first_name=rng.choice(firsts),
                        middle_name=rng.choice(middles) if middles and rng.random() < 0.8 else "")
        state["cluster"] += 1
        person.birthday = date(1950, 1, 1) + timedelta(days=rng.randrange(55 * 365)) if rng.random() < 0.6 else None
        person.address = _address(rng, locale) if rng.random() < 0.5 else ""
        person.position = rng.choice(["Директор", "Менеджер", "Бухгалтер", "Инженер", "Manager", "Sales",
                                      "Юрист", "Менеджер по закупкам"]) if rng.random() < 0.5 else ""
        if rng.random() < 0.85:
            person.mobile = _phone(rng, locale)
            person.phones.append(format_phone(rng, person.mobile, False))
        if rng.random() < 0.55:
            person.personal_email = (f"{_local(rng, person.first_name)}.{_local(rng, person.last_name)}"
                                     f"{rng.randrange(1000)}@{rng.choice(PUBLIC_DOMAINS[locale])}")
            person.emails.append(person.personal_email)
        if rng.random() < 0.6:
            _employ(rng, person, rng.choice(employers), companies)
        if not (person.phones or person.emails or person.birthday):  # a card with a name only: no one could tell
            person.mobile = _phone(rng, locale)
            person.phones.append(format_phone(rng, person.mobile, False))
        for key, value in overrides.items():
            setattr(person, key, value)
        return person

    while len(people) < n:
        roll = rng.random()
        group = []
        if roll < 0.04:
            group = _colleagues(rng, new_person, employers, companies)
        elif roll < 0.07:
            group = _namesakes(rng, new_person, pools)
        elif roll < 0.11:
            group = _family(rng, new_person, pools)
        elif roll < 0.13:
            group = _branch_people(rng, new_person, companies)
        else:
            group = [new_person()]
        cards = []
        for person in group:
            cards.append(person)
            if rng.random() < duplicate_share:
                for _ in range(1 if rng.random() < 0.8 else 2):
                    cards.append(_copy(rng, person, companies, employers))
        part = "estimate" if state["group"] % 2 == 0 else "judge"
        for card in cards:
            card.group = state["group"]
            card.part = part
        people.extend(cards)
        state["group"] += 1
    return people[:n], companies


def _companies(rng, count):
    words = ["Ромашка", "Вектор", "Альфа", "Гранит", "Сигма", "Техно", "Союз", "Прогресс", "Дельта", "Орион",
             "Світанок", "Надія", "Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Nova", "Vertex"]
    forms = {"ru": ["ООО «{}»", "АО «{}»", "{}"], "uk": ["ТОВ «{}»", "ПП «{}»", "{}"], "en": ["{} LLC", "{} Inc.", "{}"]}
    out = []
    for index in range(count):
        locale = rng.choices(["ru", "uk", "en"], [0.5, 0.3, 0.2])[0]
        base = f"{rng.choice(words)} {index}"
        name = rng.choice(forms[locale]).format(base)
        domain = f"{base.lower().replace(' ', '')}.example.com".encode("ascii", "ignore").decode() or f"c{index}.example.com"
        if not domain[0].isalnum():
            domain = f"c{index}.example.com"
        out.append(Company(index, locale, name, _phone(rng, locale), domain))
    for parent in list(out[: count // 10]):  # a tenth of the companies have a branch in another city
        city = rng.choice(CITIES[parent.locale])
        out.append(Company(len(out), parent.locale, f"{parent.name} ({city})", _phone(rng, parent.locale),
                           parent.domain, branch_of=parent.index))
    return out


def _employ(rng, person, company, companies, office_phone=None):
    person.company = company.index
    if rng.random() < 0.45 or office_phone:
        person.phones.append(format_phone(rng, office_phone or company.phone, False))
    if rng.random() < 0.5:
        root = company if company.branch_of is None else companies[company.branch_of]
        person.emails.append(f"{_local(rng, person.first_name)[:1]}.{_local(rng, person.last_name)}@{root.domain}")


def _colleagues(rng, new_person, employers, companies):
    company = rng.choice(employers)
    group = []
    mailbox = f"info@{company.domain}" if rng.random() < 0.3 else ""
    for _ in range(rng.randrange(2, 6)):
        person = new_person(locale=company.locale if company.locale != "en" or rng.random() < 0.5 else None)
        person.phones = [p for p in person.phones if p]
        person.emails = [e for e in person.emails if not e.endswith(company.domain)]
        _employ(rng, person, company, companies, office_phone=company.phone)
        if mailbox:
            person.emails.append(mailbox)
        person.cases.add("colleagues")
        group.append(person)
    return group


def _namesakes(rng, new_person, pools):
    locale = rng.choices(["ru", "uk", "en"], [0.5, 0.3, 0.2])[0]
    gender = rng.choice(["male", "female"])
    lasts, firsts, middles = pools[locale][gender]
    common_last, common_first = rng.choice(lasts[:40]), rng.choice(firsts[:25])
    group = []
    for _ in range(rng.randrange(2, 4)):
        person = new_person(locale=locale, gender=gender, last_name=common_last, first_name=common_first)
        if person.birthday is None and rng.random() < 0.7:
            person.birthday = date(1950, 1, 1) + timedelta(days=rng.randrange(55 * 365))
        person.cases.add("namesakes")
        group.append(person)
    return group


def _family(rng, new_person, pools):
    locale = rng.choices(["ru", "uk", "en"], [0.5, 0.3, 0.2])[0]
    first = new_person(locale=locale)
    others = []
    if rng.random() < 0.6:  # spouses
        gender = "female" if first.gender == "male" else "male"
        second = new_person(locale=locale, gender=gender)
        second.last_name = _family_surname(first.last_name, gender, locale)
    else:  # parent and child (the same gender sometimes)
        gender = rng.choice(["male", "female"])
        second = new_person(locale=locale, gender=gender)
        second.last_name = _family_surname(first.last_name, gender, locale)
        if locale != "en" and first.gender == "male" and first.first_name:
            second.middle_name = _patronymic(first.first_name, gender) or second.middle_name
        second.birthday = (first.birthday + timedelta(days=rng.randrange(20 * 365, 35 * 365))) if first.birthday else None
    others.append(second)
    home = first.mobile or ("ru", "495", "0000000")
    shared_phone = format_phone(rng, home, True) if rng.random() < 0.8 else ""
    shared_email = (f"{_local(rng, first.last_name)}.family@{rng.choice(PUBLIC_DOMAINS[locale])}"
                    if rng.random() < 0.4 else "")
    address = first.address or _address(rng, locale)
    for person in [first, *others]:
        if shared_phone and shared_phone not in person.phones:
            person.phones.append(shared_phone)
        if shared_email:
            person.emails.append(shared_email)
        if rng.random() < 0.8:
            person.address = address
        person.cases.add("family")
    return [first, *others]


def _family_surname(last, gender, locale):
    if locale == "en":
        return last
    for male, female in (("ов", "ова"), ("ев", "ева"), ("ин", "ина"), ("ский", "ская"), ("цкий", "цкая"),
                         ("ій", "а"), ("ий", "ая")):
        if gender == "female" and last.endswith(male):
            return last[: -len(male)] + female
        if gender == "male" and last.endswith(female):
            return last[: -len(female)] + male
    return last


def _patronymic(father, gender):
    stem = father.rstrip("йь")
    if father.endswith(("й", "ь")):
        return stem + ("евич" if gender == "male" else "евна")
    if father[-1:] in "аяо":
        return ""
    return father + ("ович" if gender == "male" else "овна")


def _branch_people(rng, new_person, companies):
    branches = [c for c in companies if c.branch_of is not None]
    if not branches:
        return [new_person()]
    branch = rng.choice(branches)
    head = companies[branch.branch_of]
    group = []
    for company in (head, branch):
        person = new_person(locale=company.locale if company.locale != "en" else None)
        person.emails = [e for e in person.emails if "example.com" not in e]
        _employ(rng, person, company, companies, office_phone=head.phone)  # the central line
        person.cases.add("branches")
        group.append(person)
    if rng.random() < 0.5 and group[0].first_name != group[1].first_name:  # one surname at both branches
        group[1].last_name = _family_surname(group[0].last_name, group[1].gender, group[0].locale)
    return group


def _copy(rng, base, companies, employers):
    """Another card of the same person, as someone else would type it."""
    card = Person(cluster=base.cluster, group=base.group, locale=base.locale, gender=base.gender,
                  last_name=base.last_name, first_name=base.first_name, middle_name=base.middle_name,
                  birthday=base.birthday, address=base.address, position=base.position, company=base.company,
                  phones=list(base.phones), emails=list(base.emails), mobile=base.mobile,
                  personal_email=base.personal_email)
    card.cases = {c for c in base.cases if c in NEGATIVE_CASES}
    count = rng.choices([1, 2, 3], [0.5, 0.35, 0.15])[0]
    for case in rng.sample(POSITIVE_CASES, count):
        if _corrupt(rng, card, case, companies, employers):
            card.cases.add(case)
    if not card.cases - set(NEGATIVE_CASES):
        card.cases.add("case")
        card.last_name = card.last_name.upper()
    shared = (set(card.phones) & set(base.phones) or (card.mobile and card.phones and base.phones)
              or set(card.emails) & set(base.emails) or (card.birthday and base.birthday)
              or (card.address and base.address) or (card.company is not None and card.company == base.company))
    if not shared:  # nothing in common but a name: no person could tell either, so keep one thing
        if base.phones:
            card.phones = [base.phones[0]]
        elif base.emails:
            card.emails = [base.emails[0]]
        else:
            card.birthday = base.birthday
    return card


def _corrupt(rng, card, case, companies, employers):
    cyrillic = card.locale != "en"
    if case == "typo":
        field_name = rng.choice(["last_name", "first_name", "middle_name"] if card.middle_name else ["last_name", "first_name"])
        setattr(card, field_name, _typo(rng, getattr(card, field_name)))
    elif case == "ocr":
        card.last_name = _ocr(rng, card.last_name)
    elif case == "translit" and cyrillic:
        scheme = SCHEMES["ukrainian"] if card.locale == "uk" and rng.random() < 0.6 else rng.choice(list(SCHEMES.values()))
        card.last_name, card.first_name, card.middle_name = (
            _translit(x, scheme) for x in (card.last_name, card.first_name, card.middle_name))
        if rng.random() < 0.5:
            card.middle_name = ""
    elif case == "swapped":
        card.last_name, card.first_name = card.first_name, card.last_name
    elif case == "missing_patronymic" and card.middle_name:
        card.middle_name = ""
    elif case == "initials" and len(card.first_name) > 1:
        card.first_name = card.first_name[0] + "."
        if card.middle_name:
            card.middle_name = card.middle_name[0] + "." if rng.random() < 0.7 else ""
    elif case == "nickname" and card.first_name in NICKNAMES:
        card.first_name = rng.choice(NICKNAMES[card.first_name])
    elif case == "ru_uk_form" and (card.first_name in RU_UK or card.first_name in _UK_RU):
        card.first_name = RU_UK.get(card.first_name) or _UK_RU[card.first_name]
    elif case == "case":
        card.last_name, card.first_name = card.last_name.upper(), f"  {card.first_name.lower()} "
    elif case == "missing_fields":
        dropped = rng.sample(["phones", "emails", "birthday", "address", "company", "position"], rng.randrange(1, 3))
        for name in dropped:
            setattr(card, name, [] if name in ("phones", "emails") else ("" if name in ("address", "position") else None))
        if not (card.phones or card.emails or card.birthday or card.address or card.company is not None):
            card.phones = list(card.phones) or ([format_phone(rng, card.mobile, True)] if card.mobile else [])
    elif case == "phone_format" and card.mobile:
        card.phones = [format_phone(rng, card.mobile, True)] + [p for p in card.phones[1:]]
    elif case == "address_format" and card.address:
        card.address = _reformat_address(rng, card.address, card.locale)
    elif case == "date_error" and card.birthday:
        kind = rng.random()
        if kind < 0.4:
            card.birthday += timedelta(days=rng.choice([-1, 1]))
        elif kind < 0.7:
            month = card.birthday.month % 12 + 1
            card.birthday = card.birthday.replace(month=month, day=min(card.birthday.day, 28))
        elif card.birthday.day <= 12:
            card.birthday = card.birthday.replace(month=card.birthday.day, day=card.birthday.month)
        else:
            card.birthday += timedelta(days=1)
    elif case == "changed_company":
        new = rng.choice(employers)
        card.phones = [format_phone(rng, card.mobile, True)] if card.mobile else []
        card.emails = [card.personal_email] if card.personal_email else []
        card.position = rng.choice(["Директор", "Менеджер", "Руководитель отдела", "Manager", ""])
        card.company = None
        _employ(rng, card, new, companies)
        if not (card.phones or card.emails or card.birthday):
            card.phones = [format_phone(rng, new.phone, False)]
            return False
    else:
        return False
    return True


def insert(people, companies, owner):
    """Write the companies (with their switchboard and website) and the people as contacts (history kept) with
    phones, emails and company links; returns the contacts' pks in order."""
    from django.contrib.contenttypes.models import ContentType
    from simple_history.utils import bulk_create_with_history

    from companies.models import Company as CompanyModel
    from contacts.models import Contact, ContactCompany
    from crm_site.models import Communication

    made = bulk_create_with_history(
        [CompanyModel(name=c.name, website=c.domain, owner=owner, created_by=owner, updated_by=owner)
         for c in companies], CompanyModel, batch_size=2000)
    company_pks = list(CompanyModel.objects.filter(owner=owner).order_by("pk").values_list("pk", flat=True))
    company_pks = company_pks[-len(made):] if made else []
    contacts = [Contact(last_name=p.last_name[:100], first_name=p.first_name[:100], middle_name=p.middle_name[:100],
                        birthday=p.birthday, address=p.address, position=p.position, owner=owner,
                        created_by=owner, updated_by=owner) for p in people]
    bulk_create_with_history(contacts, Contact, batch_size=5000)
    pks = list(Contact.objects.filter(owner=owner).order_by("pk").values_list("pk", flat=True))[-len(people):]
    contact_type = ContentType.objects.get_for_model(Contact)
    company_type = ContentType.objects.get_for_model(CompanyModel)
    comms, links = [], []
    for company, pk in zip(companies, company_pks, strict=True):
        value = format_phone(random.Random(company.index), company.phone, False)
        comms.append(Communication(content_type=company_type, object_id=pk, channel="phone", kind="work", value=value,
                                   normalized=Communication.normalize_value("phone", value), is_primary=True))
    for pk, person in zip(pks, people, strict=True):
        for channel, values in (("phone", person.phones), ("email", person.emails)):
            for position, value in enumerate(dict.fromkeys(v.strip() for v in values if v and v.strip())):
                comms.append(Communication(content_type=contact_type, object_id=pk, channel=channel, kind="work",
                                           value=value[:255], normalized=Communication.normalize_value(channel, value),
                                           is_primary=position == 0, position=position))
        if person.company is not None:
            links.append(ContactCompany(contact_id=pk, company_id=company_pks[person.company], is_primary=True))
    bulk_create_with_history(comms, Communication, batch_size=5000)
    bulk_create_with_history(links, ContactCompany, batch_size=5000)
    return pks


def truth_pairs(people, part=None):
    """All pairs (i < j, by position) that are the same person (within one part when given)."""
    by_cluster = {}
    for index, person in enumerate(people):
        if part is None or person.part == part:
            by_cluster.setdefault(person.cluster, []).append(index)
    pairs = set()
    for members in by_cluster.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                pairs.add((a, b))
    return pairs


def metrics(people, groups, part=None):
    """Precision, recall and F1 overall and per case type, on the pairs inside the predicted `groups` (lists
    of positions): every two cards of one group count as a predicted pair, as the user sees them. Only pairs
    with both cards in `part` count.

    A pair belongs to a case type when either of its cards carries the tag: a copy its corruptions, a member
    of a hard-negative group (and its copies) the group's type. So a hard-negative type's precision counts
    the pairs of that group the engine joined wrongly against the true duplicates inside it. Counted per
    group, never pair by pair (a run-away group of the old engine holds millions of pairs)."""
    cases = ("all",) + POSITIVE_CASES + NEGATIVE_CASES

    def pairs(members, case):
        size = len(members)
        if case == "all":
            return size * (size - 1) // 2
        rest = sum(1 for i in members if case not in people[i].cases)
        return size * (size - 1) // 2 - rest * (rest - 1) // 2

    predicted = dict.fromkeys(cases, 0)
    hits = dict.fromkeys(cases, 0)
    truth = dict.fromkeys(cases, 0)
    for group in groups:
        members = [i for i in group if part is None or people[i].part == part]
        by_cluster = {}
        for i in members:
            by_cluster.setdefault(people[i].cluster, []).append(i)
        for case in cases:
            predicted[case] += pairs(members, case)
            hits[case] += sum(pairs(c, case) for c in by_cluster.values())
    clusters = {}
    for index, person in enumerate(people):
        if part is None or person.part == part:
            clusters.setdefault(person.cluster, []).append(index)
    for members in clusters.values():
        for case in cases:
            truth[case] += pairs(members, case)
    return {case: _prf(predicted[case], hits[case], truth[case]) for case in cases}


def _prf(predicted, hits, truth):
    precision = hits / predicted if predicted else 1.0
    recall = hits / truth if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "predicted": predicted, "true": truth}
