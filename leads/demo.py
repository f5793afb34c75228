"""Demo leads for `seed_demo`: requests in every status, a share converted into the owner's recent contacts.

A converted lead carries its contact's person and company and was created shortly before the contact;
deals are later made from some of them (`converted`). Leads not "new" were created "new" and changed
later: their history has the '+' row in "new" and a '~' row in the current status.
"""

from collections import deque

from crm_site import demo
from crm_site.demo.fake import Weighted
from crm_site.demo.numbers import mobile_phone
from crm_site.demo.pools import BRAND_PARTS, COMMENTS, EN, FREE_MAIL_DOMAINS, POSITIONS, RU, UK

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
STATUS_WEIGHTS = (("new", 22), ("in_progress", 25), ("processed", 15), ("converted", 22), ("junk", 16))


@demo.register
class LeadGenerator(demo.Generator):
    key = "lead"
    depends = ("contact",)
    tables = (
        demo.TableSpec("lead", "leads.Lead", demo.CRM_FIELDS + [
            "title", "last_name", "first_name", "middle_name", "position", "company_name", "source_id", "status_id",
            "score", "expected_amount", "currency_id", "comment", "converted_contact_id", "converted_company_id",
            "converted_at", "converted_by_id"], crm=True, label="leads"),
    )

    @classmethod
    def requested(cls, scale):
        return round(scale / 2)  # about one lead for two contacts

    def __init__(self, run):
        from leads.models import LeadStatus

        super().__init__(run)
        contacts = run.generator("contact")
        self.contacts, self.convertible = contacts.recent, contacts.convertible
        self.status_ids = dict(LeadStatus.objects.values_list("code", "pk"))
        self.codes = [code for code, _weight in STATUS_WEIGHTS if code in self.status_ids]
        self.statuses = Weighted([(c, w) for c, w in STATUS_WEIGHTS if c in self.status_ids]) if self.codes else None
        self.scores = Weighted((("hot", 20), ("warm", 35), ("cold", 25), ("", 20)))
        self.made = 0
        # owner id -> [(lead id, ContactRef, converted at, amount, currency id)], for deals made from them
        self.converted = {o.user_id: deque(maxlen=500) for o in run.owners}

    def initial_states(self):
        new = self.status_ids.get("new")
        if new is None:
            return {}
        return {"lead": demo.InitialState(
            values=lambda row: {"status_id": new, "updated_at": row["created_at"], "converted_contact_id": None,
                                "converted_company_id": None, "converted_at": None, "converted_by_id": None},
            sql={"status_id": str(int(new)), "updated_at": "created_at", "converted_contact_id": "NULL",
                 "converted_company_id": "NULL", "converted_at": "NULL", "converted_by_id": "NULL"},
            tracked=("status_id",),
        )}

    def make(self, rows, window):
        rng, run, fake = self.rng, self.run, self.fake
        owner, opened = self.schedule.draw(rng)
        if self.made < len(self.codes):
            code = self.codes[self.made]  # every status at any scale
        else:
            code = self.statuses.pick(rng)
        self.made += 1
        lead_id = run.next_id("lead")
        converted_contact = None
        if code == "converted":
            pool = self.convertible[owner.user_id]
            if pool:
                converted_contact = pool.popleft() if rng.random() < 0.5 else pool.pop()
            elif self.contacts[owner.user_id]:  # all converted already: a repeat request of someone
                converted_contact = rng.choice(self.contacts[owner.user_id])
            else:
                code = "processed"
        if converted_contact is not None:
            person = converted_contact
            locale = person.locale
            last, first, middle, position = person.last, person.first, person.middle, person.position
            company = person.company
            company_name = (company.brand if company else "")
            converted_at = person.created
            created = max(run.start, converted_at - rng.randint(3600, 25 * 86400))
            phone, email = person.phone, person.email
            source_id = person.source_id
        else:
            locale = fake.locale()
            gender, last, first, middle, last_lat, first_lat = fake.person(locale)
            position = rng.choice(POSITIONS[locale]) if rng.random() < 0.6 else ""
            company_name = ""
            if rng.random() < 0.7:
                first_parts, second_parts, _tails = BRAND_PARTS[locale]
                a, b = rng.choice(first_parts.split()), rng.choice(second_parts.split())
                company_name = f"{a} {b}" if locale == EN else f"{a}{b}"
            created = rng.randint(*window)
            converted_at = None
            phone = mobile_phone(rng, locale) if rng.random() < 0.85 else None
            email = fake.personal_email(locale, last_lat, first_lat) if phone is None or rng.random() < 0.65 else ""
            source_id = rng.choice(run.refs.sources) if run.refs.sources else None
        templates, topics = LEAD_TITLES[locale]
        title = f"{rng.choice(templates)}: {rng.choice(topics)}"
        if company_name:
            title += f" ({company_name})"
        score = self.scores.pick(rng)
        currency_code, currency_id = fake.currency(locale)
        amount = fake.amount(currency_code) if rng.random() < 0.6 else None
        if code == "new":
            updated = created
        elif converted_at is not None:
            updated = converted_at
        else:
            updated = self.after(created, 3600, 15 * 86400)
        comment = rng.choice(COMMENTS[locale]) if rng.random() < 0.05 else ""
        conv_company = converted_contact.company.id if converted_contact and converted_contact.company else None
        rows["lead"].append((
            lead_id, owner.user_id, owner.department_id, opened, run.ts(created), run.ts(updated),
            owner.user_id, owner.user_id, title, last, first, middle, position, company_name, source_id,
            self.status_ids[code], score, amount, currency_id if amount is not None else None, comment,
            converted_contact.id if converted_contact else None, conv_company,
            run.ts(converted_at) if converted_at is not None else None,
            owner.user_id if converted_at is not None else None,
        ))
        if phone:
            self.channel(rows, lead_id, "phone", "mobile", phone[0], phone[1], True, 0)
        if email:
            kind = "home" if email.rpartition("@")[2] in FREE_MAIL_DOMAINS else "work"
            self.channel(rows, lead_id, "email", kind, email, email, True, 0)
        if converted_contact is not None:
            self.converted[owner.user_id].append((lead_id, converted_contact, converted_at, amount, currency_id))
