"""Demo deals for `seed_demo`: in every stage of every pipeline, with the owner's companies and their people.

Some deals come from the owner's converted leads. Each deal has its path through the stages in
StageChange rows; deals past the first stage were created in it and moved later, so their history has
the '+' row in the first stage and a '~' row in the current one.
"""

from datetime import timedelta

from crm_site import demo
from crm_site.demo.fake import Weighted
from crm_site.demo.pools import EN, RU, UK

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


@demo.register
class DealGenerator(demo.Generator):
    key = "deal"
    depends = ("company", "contact", "lead")
    tables = (
        demo.TableSpec("deal", "deals.Deal", demo.CRM_FIELDS + [
            "title", "pipeline_id", "stage_id", "amount", "currency_id", "expected_close_date", "company_id",
            "source_lead_id", "lost_reason_id"], crm=True, label="deals"),
        demo.TableSpec("dealcontact", "deals.DealContact", ["id", "deal_id", "contact_id", "role", "created_at"],
                       label="deal contacts"),
        demo.TableSpec("stagechange", "deals.StageChange",
                       ["deal_id", "from_stage_id", "to_stage_id", "changed_by_id", "changed_at"], audited=False,
                       explicit_ids=False, label="stage changes"),
    )

    @classmethod
    def requested(cls, scale):
        return round(scale / 2)  # about one deal for two contacts

    def __init__(self, run):
        super().__init__(run)
        self.companies = run.generator("company").recent
        self.contacts = run.generator("contact").recent
        self.converted_leads = run.generator("lead").converted
        self.pipelines = self._pipelines()  # code -> (pipeline id, [(stage id, semantic)] in order)
        self.all_stages = [(code, stage) for code, (_pid, stages) in self.pipelines.items() for stage in stages]
        self.stages = {code: Weighted([(s, 1.6 if i == 0 else 1.0) for i, s in enumerate(stages)])
                       for code, (_pid, stages) in self.pipelines.items()}
        from deals.models import LostReason

        self.lost_reasons = list(LostReason.objects.filter(is_active=True).order_by("order", "pk")
                                 .values_list("pk", flat=True))
        self.made = 0

    @staticmethod
    def _pipelines():
        from deals.models import Pipeline

        pipelines = {}
        for pipeline in Pipeline.objects.prefetch_related("stages").order_by("order", "pk"):
            stages = [(s.pk, s.semantic) for s in sorted(pipeline.stages.all(), key=lambda s: (s.order, s.pk))]
            if stages:
                pipelines[pipeline.code] = (pipeline.pk, stages)
        return pipelines

    def initial_states(self):
        first_stage = {pid: stages[0][0] for pid, stages in self.pipelines.values()}
        if not first_stage:
            return {}
        case = "CASE pipeline_id " + " ".join(f"WHEN {int(p)} THEN {int(s)}" for p, s in first_stage.items()) + " END"
        return {"deal": demo.InitialState(
            values=lambda row: {"stage_id": first_stage[row["pipeline_id"]], "updated_at": row["created_at"]},
            sql={"stage_id": case, "updated_at": "created_at"},
            tracked=("stage_id",),
        )}

    def make(self, rows, window):
        rng, run, fake = self.rng, self.run, self.fake
        owner, opened = self.schedule.draw(rng)
        deal_id = run.next_id("deal")
        if self.made < len(self.all_stages):
            pipeline_code, (stage_id, semantic) = self.all_stages[self.made]  # every stage at any scale
        else:
            pipeline_code = "sales" if "sales" in self.pipelines and rng.random() < 0.75 else rng.choice(
                list(self.pipelines))
            stage_id, semantic = self.stages[pipeline_code].pick(rng)
        self.made += 1
        pipeline_id, stages = self.pipelines[pipeline_code]
        source_lead = None
        converted = self.converted_leads[owner.user_id]
        contacts = []
        if converted and rng.random() < 0.4:
            lead_id, contact, converted_at, amount, currency_id = converted.popleft()
            source_lead = lead_id
            company = contact.company
            contacts.append(contact.id)
            created = self.after(converted_at, 0, 3 * 86400)
        else:
            companies = self.companies[owner.user_id]
            company = rng.choice(companies) if companies and rng.random() < 0.95 else None
            for _retry in range(3):  # rather a company whose people can be on the deal
                if company is None or company.contacts:
                    break
                company = rng.choice(companies)
            if company is not None:
                created = self.after(company.created, 86400, 90 * 86400)
            else:
                created = rng.randint(*window)
            amount = currency_id = None
        if company is not None and company.contacts:
            extra = [c for c in rng.sample(company.contacts, min(len(company.contacts), 2)) if c not in contacts]
            contacts.extend(extra[: max(0, rng.randint(1, 2) - len(contacts))])
        if not contacts:
            pool = self.contacts[owner.user_id]
            if pool:
                contacts.append(rng.choice(pool).id)
        locale = company.locale if company else fake.locale()
        if currency_id is None or amount is None:
            currency_code, currency_id = fake.currency(locale)
            amount = fake.amount(currency_code) if rng.random() < 0.95 else None
        title = rng.choice(DEAL_TITLES[locale, "partners" if pipeline_code == "partners" else "sales"])
        if company is not None:
            title += f" — {company.brand}"
        last_change = self._stage_path(rows, deal_id, owner, stages, stage_id, semantic, created)
        if semantic == "progress":
            close = run.date(run.now) + timedelta(days=rng.randint(5, 120))
        else:
            close = run.date(last_change)
        ts_created = run.ts(created)
        rows["deal"].append((
            deal_id, owner.user_id, owner.department_id, opened, ts_created, run.ts(last_change),
            owner.user_id, owner.user_id, title, pipeline_id, stage_id, amount,
            currency_id if amount is not None else None, close, company.id if company else None, source_lead,
            # A lost deal gets a reason (picked without the random generator: the rest of the data stays the same).
            self.lost_reasons[self.made % len(self.lost_reasons)] if semantic == "lost" and self.lost_reasons else None,
        ))
        roles = DEAL_ROLES[locale]
        for contact_id in contacts:
            rows["dealcontact"].append((run.next_id("dealcontact"), deal_id, contact_id, rng.choice(roles),
                                        ts_created))

    def _stage_path(self, rows, deal_id, owner, stages, stage_id, semantic, created):
        """The first stage, some of the stages between, the current one, as StageChange rows; the last moment."""
        rng, run = self.rng, self.run
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
            changes.append((deal_id, previous, to_stage, owner.user_id, run.ts(when)))
            previous = to_stage
            last_change = when
            when = self.after(when, 3600, 20 * 86400)
        return last_change
