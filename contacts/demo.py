"""Demo contacts for `seed_demo`: people at their owner's recent companies (some at two), phones, e-mails.

The number of contacts is the seed's scale (`seed_demo --contacts N`); the other generators size
themselves from it. Later generators take the contacts each owner made lately: leads are converted into
the ones in `convertible`, deals pick from `recent`.
"""

from collections import deque
from dataclasses import dataclass
from datetime import date, timedelta

from crm_site import demo
from crm_site.demo.numbers import mobile_phone
from crm_site.demo.pools import COMMENTS, EN, POSITIONS

TAGS = ["VIP", "Выставка 2024", "Рассылка", "Партнёр", "Ключевой клиент"]


@dataclass
class ContactRef:
    """What later generators need of a contact made in this run."""

    id: int
    locale: str
    gender: str
    last: str
    first: str
    middle: str
    position: str
    company: object  # companies.demo.CompanyRef or None
    phone: tuple | None
    email: str
    created: int
    source_id: int | None


@demo.register
class ContactGenerator(demo.Generator):
    key = "contact"
    depends = ("company",)
    unit_option = "contacts"
    tables = (
        demo.TableSpec("contact", "contacts.Contact", demo.CRM_FIELDS + [
            "last_name", "first_name", "middle_name", "honorific", "position", "birthday", "address", "source_id",
            "type_id", "comment"], crm=True, label="contacts"),
        demo.TableSpec("contactcompany", "contacts.ContactCompany",
                       ["id", "contact_id", "company_id", "position", "is_primary", "created_at"],
                       label="contact-company links"),
        demo.TableSpec("contacttag", "contacts.Contact_tags", ["contact_id", "tag_id"], audited=False,
                       explicit_ids=False),
    )

    def __init__(self, run):
        from crm_site.models import Tag

        super().__init__(run)
        self.companies = run.generator("company").recent
        self.tags = [Tag.objects.get_or_create(name=name)[0].pk for name in TAGS]
        self.recent = {o.user_id: deque(maxlen=1000) for o in run.owners}  # owner id -> [ContactRef]
        self.convertible = {o.user_id: deque(maxlen=1000) for o in run.owners}  # not yet a converted lead's

    def make(self, rows, window):
        rng, run, fake = self.rng, self.run, self.fake
        owner, opened = self.schedule.draw(rng)
        companies = self.companies[owner.user_id]
        company = rng.choice(companies) if companies and rng.random() < 0.93 else None
        if company is not None:
            locale = company.locale if rng.random() < 0.9 else fake.locale()
            created = self.after(company.created, 0, 30 * 86400)
        else:
            locale = fake.locale()
            created = rng.randint(*window)
        gender, last, first, middle, last_lat, first_lat = fake.person(locale)
        contact_id = run.next_id("contact")
        position = rng.choice(POSITIONS[company.locale if company else locale]) if company or rng.random() < 0.3 else ""
        honorific = ""
        if locale == EN and rng.random() < 0.6:
            honorific = "dr" if rng.random() < 0.08 else "mr" if gender == "m" else rng.choice(("ms", "mrs"))
        birthday = None
        if rng.random() < 0.4:
            birthday = date(1958, 1, 1) + timedelta(days=rng.randrange(45 * 365))
        city = company.city if company and company.locale == locale else fake.city(locale)
        address = fake.address(locale, city, office=False) + (
            f", кв. {rng.randint(1, 400)}" if locale != EN else "") if rng.random() < 0.15 else ""
        sources = run.refs.sources
        source_id = rng.choice(sources) if sources and rng.random() < 0.8 else None
        type_id = company.type_id if company else fake.client_type()
        comment = rng.choice(COMMENTS[locale]) if rng.random() < 0.05 else ""
        ts = run.ts(created)
        rows["contact"].append((
            contact_id, owner.user_id, owner.department_id, opened, ts, ts, owner.user_id, owner.user_id,
            last, first, middle, honorific, position, birthday, address, source_id, type_id, comment,
        ))
        phone, email = self._channels(rows, contact_id, locale, company, last_lat, first_lat)
        if self.tags and rng.random() < 0.08:
            rows["contacttag"].append((contact_id, rng.choice(self.tags)))
        if company is not None:
            self._link(rows, contact_id, company, companies, position, ts)
        ref = ContactRef(contact_id, locale, gender, last, first, middle, position, company, phone, email, created,
                         source_id)
        self.recent[owner.user_id].append(ref)
        self.convertible[owner.user_id].append(ref)

    def _channels(self, rows, contact_id, locale, company, last_lat, first_lat):
        """Phones, e-mails and a messenger; returns (mobile phone or None, main e-mail or '')."""
        rng = self.rng
        phone = None
        if rng.random() < 0.95:
            phone = mobile_phone(rng, locale)
            self.channel(rows, contact_id, "phone", "mobile", phone[0], phone[1], True, 0)
        if company is not None and company.phone and rng.random() < 0.25:
            self.channel(rows, contact_id, "phone", "work", company.phone[0], company.phone[1], phone is None, 1)
        email = ""
        if company is not None and company.domain and rng.random() < 0.85:
            style = rng.randrange(4)
            local = (f"{first_lat}.{last_lat}", f"{first_lat[:1]}.{last_lat}", f"{last_lat}",
                     f"{first_lat}{last_lat[:1]}")[style]
            email = f"{local}@{company.domain}"
            self.channel(rows, contact_id, "email", "work", email, email, True, 0)
            if rng.random() < 0.12:
                personal = self.fake.personal_email(locale, last_lat, first_lat)
                self.channel(rows, contact_id, "email", "home", personal, personal, False, 1)
        elif rng.random() < 0.75:
            email = self.fake.personal_email(locale, last_lat, first_lat)
            self.channel(rows, contact_id, "email", "home", email, email, True, 0)
        if rng.random() < 0.1:
            handle = f"@{first_lat}_{last_lat}" + (str(rng.randint(1, 99)) if rng.random() < 0.5 else "")
            self.channel(rows, contact_id, "messenger", "telegram", handle, handle.casefold(), True, 0)
        return phone, email

    def _link(self, rows, contact_id, company, companies, position, ts):
        """The primary link to the company, and now and then a second one at another of the owner's companies."""
        rng, run = self.rng, self.run
        rows["contactcompany"].append((run.next_id("contactcompany"), contact_id, company.id, position, True, ts))
        company.contacts.append(contact_id)
        if len(companies) > 1 and rng.random() < 0.12:
            second = rng.choice(companies)
            if second is not company:
                role = rng.choice(POSITIONS[second.locale])
                rows["contactcompany"].append((run.next_id("contactcompany"), contact_id, second.id, role, False, ts))
                second.contacts.append(contact_id)
