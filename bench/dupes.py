"""A labelled synthetic duplicate set: people entered more than once, with the truth known.

Deterministic for a seed. Russian, Ukrainian and English people; about a fifth of them have one or two
more cards made from the same person with the kinds of differences real duplicates have: typos,
another transliteration, swapped name order, another phone format, missing fields. Hard negatives come
for free: namesakes (the name pools are small), colleagues at the same company, people born the same day.

`generate(n, seed)` returns `Person` rows (with `cluster`, the truth label); `insert(people, owner)` writes
them as contacts with phones, emails and company links (history kept) and returns their pks in order.
"""

import importlib
import random
from dataclasses import dataclass, field
from datetime import date, timedelta

LOCALES = (("ru", "ru_RU", 0.5), ("uk", "uk_UA", 0.3), ("en", "en_US", 0.2))

# Two transliteration schemes different from the matcher's own canonical form.
_PASSPORT = {"а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "e", "ж": "zh", "з": "z",
             "и": "i", "й": "i", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s",
             "т": "t", "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "ie",
             "ы": "y", "ь": "", "э": "e", "ю": "iu", "я": "ia", "і": "i", "ї": "i", "є": "ie", "ґ": "g"}
_INFORMAL = {**_PASSPORT, "й": "y", "х": "h", "щ": "sch", "ъ": "", "ю": "yu", "я": "ya", "ё": "yo",
             "ї": "yi", "є": "ye"}
_UKRAINIAN = {**_PASSPORT, "г": "h", "и": "y", "й": "i", "ї": "i", "є": "ie", "ю": "iu", "я": "ia"}
_KEYBOARD = "йцукенгшщзхфывапролджэячсмитьбюqwertyuiopasdfghjklzxcvbnm"


@dataclass
class Person:
    cluster: int
    locale: str
    last_name: str
    first_name: str
    middle_name: str = ""
    birthday: date | None = None
    address: str = ""
    company: int | None = None  # index into the company pool
    phones: list = field(default_factory=list)
    emails: list = field(default_factory=list)


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


def _typo(rng, word):
    if len(word) < 4:
        return word
    i = rng.randrange(1, len(word) - 1)
    kind = rng.random()
    if kind < 0.35:
        return word[:i] + word[i + 1:]  # a letter dropped
    if kind < 0.7:
        return word[:i] + word[i + 1] + word[i] + word[i + 2:]  # two letters swapped
    letters = [c for c in _KEYBOARD if (c.isascii() == word[i].isascii())]
    return word[:i] + rng.choice(letters) + word[i + 1:]  # a wrong letter


def _phone(rng, locale):
    if locale == "ru":
        return ("ru", rng.choice(["495", "499", "812", "343", "916", "903", "925"]), f"{rng.randrange(10**7):07d}")
    if locale == "uk":
        return ("uk", rng.choice(["44", "67", "50", "97", "63", "32"]), f"{rng.randrange(10**7):07d}")
    return ("en", rng.choice(["212", "415", "617", "312", "646"]), f"{rng.randrange(2 * 10**6, 10**7):07d}")


def _format_phone(rng, phone, variant):
    country, area, sub = phone
    a, b, c = sub[:3], sub[3:5], sub[5:]
    if country == "ru":
        formats = [f"+7 {area} {a}-{b}-{c}", f"8 ({area}) {a}-{b}-{c}", f"8{area}{sub}", f"+7({area}){sub}",
                   f"{area} {a} {b} {c}", f"+7 {area} {a}-{b}-{c} доб. {rng.randrange(10, 99)}"]
    elif country == "uk":
        formats = [f"+380 {area} {a} {b} {c}", f"+380{area}{sub}", f"+38 (0{area}) {a}-{b}-{c}",
                   f"380 {area} {sub}"]
    else:
        formats = [f"+1 {area} {sub[:3]} {sub[3:]}", f"+1 ({area}) {sub[:3]}-{sub[3:]}", f"+1{area}{sub}",
                   f"+1 {area}-{sub[:3]}-{sub[3:]} ext. 5"]
    return formats[0] if not variant else rng.choice(formats)


def _email(rng, person):
    local = _translit(f"{person.first_name}.{person.last_name}", _PASSPORT).lower().replace(" ", "")
    return f"{local}{rng.randrange(1000)}@{rng.choice(['mail.ru', 'gmail.com', 'ukr.net', 'yandex.ru', 'example.com'])}"


STREETS = ["Тверская", "Ленина", "Мира", "Садовая", "Хрещатик", "Шевченка", "Main St", "Oak Ave", "Pushkina",
           "Гагарина", "Sumska", "Lesi Ukrainky", "Broadway", "Nevsky", "Arbat", "Franka", "Park Rd"]
CITIES = {"ru": ["Москва", "Санкт-Петербург", "Казань", "Екатеринбург"], "uk": ["Київ", "Львів", "Харків", "Одеса"],
          "en": ["New York", "Boston", "Chicago", "San Francisco"]}


def generate(n, seed=42, duplicate_share=0.2):
    """`n` people (cards); cluster ids are the truth: cards with the same cluster are the same person."""
    rng = random.Random(seed)
    pools = _pools()
    companies = max(20, n // 25)
    people = []
    cluster = 0
    weights = [w for _c, _l, w in LOCALES]
    while len(people) < n:
        locale = rng.choices([c for c, _l, _w in LOCALES], weights)[0]
        gender = rng.choice(["male", "female"])
        lasts, firsts, middles = pools[locale][gender]
        base = Person(
            cluster=cluster, locale=locale, last_name=rng.choice(lasts), first_name=rng.choice(firsts),
            middle_name=rng.choice(middles) if middles and rng.random() < 0.8 else "",
            birthday=date(1950, 1, 1) + timedelta(days=rng.randrange(55 * 365)) if rng.random() < 0.6 else None,
            address=(f"{rng.choice(CITIES[locale])}, {rng.choice(STREETS)}, {rng.randrange(1, 200)}, "
                     f"{rng.randrange(1, 300)}") if rng.random() < 0.5 else "",
            company=rng.randrange(companies) if rng.random() < 0.6 else None,
        )
        phone = _phone(rng, locale)
        base.phones = [_format_phone(rng, phone, False)] if rng.random() < 0.85 else []
        base.emails = [_email(rng, base)] if rng.random() < 0.7 else []
        people.append(base)
        copies = 0
        if rng.random() < duplicate_share:
            copies = 1 if rng.random() < 0.75 else 2
        for _ in range(min(copies, n - len(people))):
            people.append(_variant(rng, base, phone))
        cluster += 1
    return people


def _variant(rng, base, phone):
    """Another card of the same person, as someone else would type it."""
    last, first, middle = base.last_name, base.first_name, base.middle_name
    change = rng.random()
    if change < 0.25 and base.locale != "en":
        table = _UKRAINIAN if base.locale == "uk" else rng.choice([_PASSPORT, _INFORMAL])
        last, first, middle = (_translit(x, table) for x in (last, first, middle))
    elif change < 0.45:
        if rng.random() < 0.5:
            last = _typo(rng, last)
        else:
            first = _typo(rng, first)
    elif change < 0.6:
        last, first = first, last  # typed in the wrong fields
    elif change < 0.7:
        last, first = last.upper(), first.lower()
    if rng.random() < 0.4:
        middle = ""
    card = Person(cluster=base.cluster, locale=base.locale, last_name=last, first_name=first, middle_name=middle)
    keep_phone = bool(base.phones) and rng.random() < 0.6
    keep_email = bool(base.emails) and rng.random() < 0.5
    card.birthday = base.birthday if rng.random() < 0.6 else None
    card.address = base.address if rng.random() < 0.5 else ""
    card.company = base.company if rng.random() < 0.7 else None
    has_support = (card.birthday and base.birthday) or (card.address and base.address) or (
        card.company is not None and base.company is not None)
    if not (keep_phone or keep_email or has_support):
        # Nothing in common but a name: no person could tell either. Keep what the base has.
        keep_phone = bool(base.phones)
        keep_email = not keep_phone and bool(base.emails)
        if not (keep_phone or keep_email):
            card.birthday = base.birthday
            card.company = base.company
            card.address = base.address
    if keep_phone:
        card.phones = [_format_phone(rng, phone, True)]
    if keep_email:
        email = base.emails[0]
        card.emails = [email.upper() if rng.random() < 0.3 else f"  {email}"]
    return card


def insert(people, owner, seed=42):
    """Write the people as contacts (history kept) with phones, emails and company links; returns their pks."""
    from django.contrib.contenttypes.models import ContentType
    from simple_history.utils import bulk_create_with_history

    from companies.models import Company
    from contacts.models import Contact, ContactCompany
    from crm_site.models import Communication

    rng = random.Random(seed)
    company_count = max((p.company for p in people if p.company is not None), default=-1) + 1
    forms = ["ООО «{}»", "{} LLC", "ТОВ «{}»", "АО {}", "{}"]
    companies = bulk_create_with_history(
        [Company(name=rng.choice(forms).format(f"Компания {i}"), owner=owner, created_by=owner, updated_by=owner)
         for i in range(company_count)], Company, batch_size=2000)
    companies = list(Company.objects.filter(owner=owner).order_by("pk"))[-company_count:] if company_count else []
    contacts = [Contact(last_name=p.last_name, first_name=p.first_name, middle_name=p.middle_name,
                        birthday=p.birthday, address=p.address, owner=owner, created_by=owner, updated_by=owner)
                for p in people]
    bulk_create_with_history(contacts, Contact, batch_size=5000)
    pks = list(Contact.objects.filter(owner=owner).order_by("pk").values_list("pk", flat=True))[-len(people):]
    content_type = ContentType.objects.get_for_model(Contact)
    comms, links = [], []
    for pk, person in zip(pks, people, strict=True):
        for channel, values in (("phone", person.phones), ("email", person.emails)):
            for position, value in enumerate(values):
                value = value.strip()
                comms.append(Communication(content_type=content_type, object_id=pk, channel=channel, kind="work",
                                           value=value, normalized=Communication.normalize_value(channel, value),
                                           is_primary=position == 0, position=position))
        if person.company is not None:
            links.append(ContactCompany(contact_id=pk, company_id=companies[person.company].pk, is_primary=True))
    bulk_create_with_history(comms, Communication, batch_size=5000)
    bulk_create_with_history(links, ContactCompany, batch_size=5000)
    return pks


def truth_pairs(labels):
    """All pairs (i < j, by position) that are the same person."""
    by_cluster = {}
    for index, label in enumerate(labels):
        by_cluster.setdefault(label, []).append(index)
    pairs = set()
    for members in by_cluster.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                pairs.add((a, b))
    return pairs
