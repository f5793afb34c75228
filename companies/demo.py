"""Demo companies for `seed_demo`: legal forms, requisites with valid check digits, phones, e-mails, links.

Later generators link to the companies each owner made lately (`recent`): contacts work there, deals
are made with them.
"""

import math
from collections import deque
from dataclasses import dataclass, field
from decimal import Decimal

from crm_site import demo
from crm_site.demo.fake import Weighted
from crm_site.demo.numbers import (
    city_phone,
    digits,
    edrpou,
    iban_ua,
    inn_legal,
    inn_person,
    mobile_phone,
    ogrn,
    rnokpp,
)
from crm_site.demo.pools import BRAND_PARTS, EN, RU, UK, translit
from crm_site.normalize import normalize_url

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
REVENUE_PER_EMPLOYEE = {"rub": (1_500_000, 20_000_000), "uah": (400_000, 5_000_000), "usd": (40_000, 400_000),
                        "eur": (40_000, 350_000), "kzt": (8_000_000, 90_000_000)}


@dataclass
class CompanyRef:
    """What later generators need of a company made in this run."""

    id: int
    locale: str
    city: tuple
    brand: str
    domain: str
    phone: tuple | None
    created: int
    type_id: int | None
    contacts: list = field(default_factory=list)  # ids of the contacts working there (the contacts generator adds)


@demo.register
class CompanyGenerator(demo.Generator):
    key = "company"
    tables = (
        demo.TableSpec("company", "companies.Company", demo.CRM_FIELDS + [
            "name", "type_id", "industry_id", "employees", "annual_revenue", "revenue_currency_id", "address",
            "website", "legal_name", "tax_id", "registration_number", "kpp", "legal_address", "bank_name",
            "bank_code", "bank_account"], crm=True, label="companies"),
    )

    @classmethod
    def requested(cls, scale):
        return round(scale / 3)  # about one company for three contacts

    def __init__(self, run):
        super().__init__(run)
        self.recent = {o.user_id: deque(maxlen=300) for o in run.owners}  # owner id -> [CompanyRef]
        self.domains = {}  # domain base -> times used (the next one gets a number)
        self.legal_forms = {locale: Weighted([(f, f[2]) for f in forms]) for locale, forms in LEGAL_FORMS.items()}

    def make(self, rows, window):
        rng, run, fake = self.rng, self.run, self.fake
        owner, opened = self.schedule.draw(rng)
        locale = fake.locale()
        city = fake.city(locale)
        short, full, _w, individual = self.legal_forms[locale].pick(rng)
        company_id = run.next_id("company")
        created = rng.randint(*window)
        domain = ""
        kpp = registration = ""
        if individual:
            gender, last, first, middle, last_lat, first_lat = fake.person(locale)
            person = f"{last} {first} {middle}".strip()
            name = f"{short} {person}"
            legal_name = f"{full} {person}"
            brand = f"{short} {last}"
            tax_id = inn_person(rng, city[4]) if locale == RU else rnokpp(rng)
            if locale == RU:
                registration = ogrn(rng, city[4], individual=True)
            email = fake.personal_email(locale, last_lat, first_lat)
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
            account = ("40802810" if individual else "40702810") + digits(rng, 12)
        elif locale == UK:
            account = iban_ua(rng, bank_code)
        else:
            account = str(rng.randint(10**9, 10**10 - 1))
        currency_code, currency_id = fake.currency(locale)
        revenue = None
        if rng.random() < 0.7:
            low, high = REVENUE_PER_EMPLOYEE.get(currency_code, (100_000, 1_000_000))
            revenue = Decimal(int(rng.uniform(low, high) * employees) // 1000 * 1000)
        address = fake.address(locale, city)
        legal_address = address if rng.random() < 0.7 else fake.address(locale, city)
        type_id = fake.client_type()
        industry_id = rng.choice(run.refs.industries) if run.refs.industries else None
        ts = run.ts(created)
        rows["company"].append((
            company_id, owner.user_id, owner.department_id, opened, ts, ts, owner.user_id, owner.user_id,
            name, type_id, industry_id, employees, revenue, currency_id if revenue is not None else None, address,
            website, legal_name, tax_id, registration, kpp, legal_address, bank_name, bank_code, account,
        ))
        phone = city_phone(rng, locale, city)
        self.channel(rows, company_id, "phone", "work", phone[0], phone[1], True, 0)
        if rng.random() < 0.2:
            other = mobile_phone(rng, locale)
            self.channel(rows, company_id, "phone", "other", other[0], other[1], False, 1)
        self.channel(rows, company_id, "email", "work", email, email.lower(), True, 0)
        if domain and rng.random() < 0.1:
            slug = domain.split(".")[0]
            kind, url = {RU: ("vk", f"https://vk.com/{slug}"), UK: ("facebook", f"https://facebook.com/{slug}"),
                         EN: ("linkedin", f"https://www.linkedin.com/company/{slug}")}[locale]
            self.channel(rows, company_id, "web", kind, url, normalize_url(url), True, 0)
        self.recent[owner.user_id].append(
            CompanyRef(company_id, locale, city, brand, domain, phone, created, type_id))
