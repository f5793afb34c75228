"""Header dictionaries: which column of a real export holds what.

A header is compared by its `header_key` (case-folded, ё→е, everything but letters and digits removed), so
"E-mail", "Email" and "e_mail" are one key, and so are "First Name", "FirstName" and "first_name".

Each header maps to a *concept*, independent of the entity being imported ("company", "phone:mobile",
"address@work"); `mapping.resolve_concept` turns a concept into the entity's own target (a contact's company is
its link to a company record, a lead's is its `company_name` field, a company's own name is `name`). The
"@group" suffix marks columns that build one field together (Outlook's Business Street, Business City...): a
row takes the first group that has a value.

Where the header lists come from (researched, not guessed):

- Microsoft Outlook, English: the "MS Outlook 2010" section of Roundcube's
  program/localization/en_US/csv2vcard.inc ("original texts used in Outlook/Thunderbird exported csv files")
  and Bitrix24's own Outlook importer, modules/crm/lib/import/outlookcsvfileimport.php (the fields it reads,
  e.g. "Business Phone 2", "Company Main Phone", "E-mail 2 Address"), as mirrored in
  github.com/avshatalov48/bitrix24-core-corp.
- Microsoft Outlook, Russian UI: Bitrix24's aliases for it, modules/crm/lang/ru/lib/import/outlookcsvfileimport.php
  (CRM_IMPORT_OUTLOOK_ALIAS_*: "Улица (раб. адрес)", "Телефон переносной", "Адрес эл. почты"...).
- Google Contacts: the legacy "Google CSV" (Name, Given Name, Additional Name, Family Name, Group Membership,
  "E-mail 1 - Type"/"- Value", "Organization 1 - Name", "IM 1 - Service", values joined by " ::: ") from
  Bitrix24's modules/crm/lib/import/gmailcsvfileimport.php and Roundcube's csv2vcard (GMail section); the current
  export (First Name, Middle Name, Last Name, Phonetic First Name, ..., Organization Name, Organization Title,
  Labels, "E-mail 1 - Label"/"- Value", "Phone 1 - Label", "Address 1 - Formatted", "Website 1 - Label") as
  reproduced identically by several public projects' exporters and test fixtures found with the code search.
  The numbered "X N - Label/Type/Value" columns are matched by pattern in mapping.py.
- Thunderbird (Display Name, Primary Email, Work Phone, Mobile Number...): Roundcube's csv2vcard.inc, Thunderbird
  section.
- Bitrix24 exports of contacts, companies, leads and deals, Russian, English and Ukrainian UI: the field and
  grid column titles in bitrix24-core-corp, modules/crm/lang/{ru,en}/classes/general/crm_{contact,company,lead,
  deal}.php (CRM_*_FIELD_*), components/bitrix/crm.{contact,company,lead,deal}.list/lang/{ru,en,ua}/component.php
  (CRM_COLUMN_*), the kinds of phones, e-mails, sites and messengers in
  modules/crm/lang/{ru,en}/classes/general/crm_field_multi.php ("Рабочий телефон", "Частный e-mail", "Контакт
  Telegram"...), and the import template components/bitrix/crm.contact.import/sample.csv with its field codes
  (NAME, LAST_NAME, SECOND_NAME, PHONE_WORK, EMAIL_HOME, POST, COMMENTS...), which Bitrix24's REST API uses too.
- 1C: the attributes of the "Контрагенты" catalogue and their synonyms as 1C shows and exports them
  (Наименование, Полное наименование / НаименованиеПолное, ИНН, КПП, Код по ОКПО, Код по ЕДРПОУ (Ukrainian
  configurations), Основное контактное лицо), as queried in public 1C integration code.
- Everyday Russian, Ukrainian and English words people put in their own spreadsheets (ФИО, Телефон, Мобильный,
  ІПН, ЄДРПОУ, Р/с...): ours.
"""

import re

_NOT_ALNUM = re.compile(r"[\W_]+", re.UNICODE)


def header_key(text):
    return _NOT_ALNUM.sub("", str(text).casefold().replace("ё", "е"))


# concept -> headers. Order inside a concept doesn't matter; a header belongs to one concept only.
CONCEPT_HEADERS = {
    # --- names
    "last_name": [
        "Фамилия", "Прізвище", "Last Name", "Surname", "Family Name", "Last", "LAST_NAME",
    ],
    "first_name": [
        "Имя", "Ім'я", "Імя", "First Name", "Given Name", "First", "Forename",
    ],
    "middle_name": [
        "Отчество", "По батькові", "Middle Name", "Additional Name", "Second Name", "SECOND_NAME", "Patronymic",
    ],
    "full_name": [
        "ФИО", "Ф.И.О.", "ФИО контакта", "ПІБ", "П.І.Б.", "Полное имя", "Повне ім'я", "Имя, Фамилия",
        "Ім'я, Прізвище", "Name", "Full Name", "Display Name", "Отображаемое имя", "First and Last Names", "NAME",
        "Контактное лицо (ФИО)", "Клиент (ФИО)",
    ],
    "honorific": [
        "Обращение", "Звернення", "Title", "Name Prefix", "Prefix", "Salutation", "HONORIFIC",
    ],
    # --- work
    "position": [
        "Должность", "Посада", "Job Title", "Position", "Organization Title", "Organization 1 - Title", "POST",
        "Work Title", "Занимаемая должность",
    ],
    "company": [
        "Компания", "Компанія", "Company", "Организация", "Організація", "Organization", "Organisation",
        "Organization Name", "Organisation name", "Organization 1 - Name", "COMPANY_TITLE", "Название компании",
        "Назва компанії", "Company Name", "Work Company", "Место работы", "Місце роботи", "Контрагент",
        "Наименование", "Найменування", "Наименование организации", "Фирма",
    ],
    "contact": [
        "Контакт", "Контакты", "Contact", "Contacts", "Контактное лицо", "Контактна особа",
        "Основное контактное лицо", "Контактные лица",
    ],
    "title": [
        "Название", "Назва", "Название лида", "Название сделки", "Назва угоди", "Lead Name", "Deal Name",
        "Сделка", "Угода", "Лид", "Лід", "Тема", "Subject",
    ],
    # --- dates, notes, classification
    "birthday": [
        "Дата рождения", "День рождения", "Дата народження", "Birthday", "Date of Birth", "Birth Date", "DOB",
        "BIRTHDATE",
    ],
    "comment": [
        "Комментарий", "Комментарии", "Коментар", "Коментарі", "Примечание", "Примечания", "Примітка", "Примітки",
        "Заметки", "Нотатки", "Notes", "Note", "Comment", "Comments", "COMMENTS", "Описание", "Опис",
        "Description", "Info", "Дополнительная информация", "Додаткова інформація",
    ],
    "tags": [
        "Теги", "Теґи", "Метки", "Мітки", "Ярлыки", "Tags", "Labels", "Group Membership", "Groups", "Группы", "Групи",
        "Categories", "Категории", "Категорії", "Category", "Категория",
    ],
    "source": [
        "Источник", "Джерело", "Source", "SOURCE_ID", "Источник обращения", "Канал", "Lead Source",
    ],
    "type": [
        "Тип контакта", "Тип контакту", "Contact Type", "Тип компании", "Тип компанії", "Company Type", "TYPE_ID",
        "COMPANY_TYPE", "Тип клиента", "Тип клієнта", "Client Type",
    ],
    "owner": [
        "Ответственный", "Відповідальний", "Responsible", "Responsible person", "ASSIGNED_BY_ID", "Owner",
        "Владелец", "Ответственный менеджер", "Менеджер", "Менеджер клиента", "Account Owner",
    ],
    "opened": [
        "Доступен для всех", "Доступна для всех", "Доступний для всіх", "Доступна для всіх", "Available to everyone",
        "OPENED", "Открыт для всех", "Open to everyone",
    ],
    # --- companies and requisites
    "legal_name": [
        "Полное наименование", "Наименование полное", "НаименованиеПолное", "Полное название", "Повна назва",
        "Повне найменування", "Юридическое название", "Юридическое наименование", "Legal Name", "Full legal name",
    ],
    "tax_id": [
        "ИНН", "ІПН", "ИНН организации", "ИНН компании", "INN", "ЄДРПОУ", "Код ЄДРПОУ", "ЕДРПОУ", "Код по ЕДРПОУ",
        "Код за ЄДРПОУ", "РНОКПП", "УНП", "БИН", "ИИН", "Tax ID", "Taxpayer ID", "VAT number", "VAT ID",
    ],
    "kpp": ["КПП", "KPP"],
    "registration_number": [
        "ОГРН", "ОГРНИП", "OGRN", "Регистрационный номер", "Реєстраційний номер", "Registration number",
        "Company number",
    ],
    "industry": [
        "Сфера деятельности", "Сфера діяльності", "Отрасль", "Галузь", "Industry", "INDUSTRY",
    ],
    "employees": [
        "Кол-во сотрудников", "Количество сотрудников", "Кількість співробітників", "Численность", "Employees",
        "EMPLOYEES", "Number of employees",
    ],
    "annual_revenue": [
        "Годовой оборот", "Годовой доход", "Річний оборот", "Річний дохід", "Выручка", "Annual Income",
        "Annual Revenue", "REVENUE", "Revenue",
    ],
    "legal_address": [
        "Юридический адрес", "Юр. адрес", "Юридична адреса", "Legal Address", "Registered address",
    ],
    "bank_name": ["Банк", "Bank", "Наименование банка", "Название банка", "Назва банку", "Bank name"],
    "bank_code": ["БИК", "БИК банка", "МФО", "BIC", "SWIFT", "Bank code"],
    "bank_account": [
        "Расчетный счет", "Р/с", "Р/сч", "Р/счет", "Розрахунковий рахунок", "Поточний рахунок", "IBAN",
        "Bank account", "Account number",
    ],
    "website": [
        "Сайт", "Веб-сайт", "Вебсайт", "Website", "Web site", "Web Page", "Веб-страница", "Веб-сторінка",
        "Корпоративный сайт", "Корпоративний сайт", "Corporate Website", "WEB_WORK", "Site", "Web Page 1",
        "Веб-страница 1", "URL", "Business Web Page", "Web",
    ],
    # --- leads and deals
    "amount": [
        "Сумма", "Сума", "Сумма сделки", "Сума угоди", "Возможная сумма", "Возможная сумма сделки", "Income",
        "Amount", "Opportunity", "OPPORTUNITY", "Бюджет", "Deal Amount", "Expected amount", "Ожидаемая сумма",
    ],
    "currency": ["Валюта", "Currency", "CURRENCY_ID", "Валюта сделки", "Валюта угоди"],
    "stage": ["Стадия", "Стадия сделки", "Стадія", "Стадія угоди", "Этап", "Этап сделки", "Stage", "Deal Stage",
              "STAGE_ID"],
    "pipeline": ["Воронка", "Напрямок", "Направление", "Pipeline", "CATEGORY_ID", "Воронка продаж"],
    "status": ["Статус", "Status", "STATUS_ID", "Статус лида", "Статус ліда", "Lead Status"],
    "score": ["Оценка", "Оцінка", "Score", "Рейтинг", "Rating"],
    "expected_close_date": [
        "Предполагаемая дата закрытия", "Орієнтовна дата закриття", "Дата закрытия", "Дата завершения",
        "Assumed close date", "Expected close date", "Close date", "Closing date", "CLOSEDATE",
    ],
    # --- phones (Bitrix24: WORK, MOBILE, FAX, HOME, PAGER, MAILING, OTHER; we keep work/mobile/home/other)
    "phone:work": [
        "Телефон", "Телефоны", "Тел.", "Тел", "Номер телефона", "Контактный телефон", "Телефон рабочий",
        "Рабочий телефон", "Раб. телефон", "Робочий телефон", "Основной телефон", "Основной телефон организации",
        "Телефон раб. 2", "Телефон организации", "Phone", "Phone Number", "Telephone", "Tel", "Work Phone",
        "Business Phone", "Business Phone 2", "Company Main Phone", "Primary Phone", "PHONE", "PHONE_WORK",
        "Контактний телефон", "Номер телефону",
    ],
    "phone:mobile": [
        "Мобильный", "Мобильный телефон", "Моб. телефон", "Моб.", "Телефон мобильный", "Сотовый",
        "Сотовый телефон", "Номер сотового телефона", "Телефон переносной", "Мобільний", "Мобільний телефон",
        "Mobile", "Mobile Phone", "Mobile Number", "Cell", "Cell Phone", "Cellphone", "PHONE_MOBILE", "Home Mobile",
    ],
    "phone:home": [
        "Домашний телефон", "Телефон домашний", "Телефон дом. 2", "Домашній телефон", "Home Phone", "Home Phone 2",
        "PHONE_HOME",
    ],
    "phone:other": [
        "Другой телефон", "Інший телефон", "Other Phone", "Other Phone Number", "Car Phone", "Телефон в машине",
        "Radio Phone", "Радиотелефон", "Pager", "Пейджер", "Номер пейджера", "Pager Number", "Fax", "Факс",
        "Номер факса", "Рабочий факс", "Домашний факс", "Другой факс", "Business Fax", "Home Fax", "Other Fax",
        "Fax Number", "Телефон для рассылок", "SMS marketing phone", "PHONE_FAX", "PHONE_PAGER", "PHONE_OTHER",
        "PHONE_MAILING", "Дополнительный телефон", "Додатковий телефон", "Work Mobile",
    ],
    # --- e-mails (Bitrix24: WORK, HOME, MAILING, OTHER; Outlook's first address is the work one)
    "email:work": [
        "E-mail", "Email", "Е-mail", "Эл. почта", "Электронная почта", "Адрес электронной почты", "Адрес эл. почты",
        "Почта", "Ел. пошта", "Електронна пошта", "Адреса електронної пошти", "Рабочий e-mail", "Робочий e-mail",
        "E-mail Address", "Email Address", "Work E-mail", "Work Email", "Primary Email", "Mail", "EMAIL",
        "EMAIL_WORK", "Email Work",
    ],
    "email:home": [
        "Частный e-mail", "Личный e-mail", "Приватний e-mail", "Особистий e-mail", "Home E-mail", "Home Email",
        "Personal Email", "EMAIL_HOME", "Email Home",
    ],
    "email:other": [
        "Другой e-mail", "Інший e-mail", "Дополнительный e-mail", "Other E-mail", "Other Email", "E-mail 2 Address",
        "E-mail 3 Address", "Адрес 2 эл. почты", "Адрес 3 эл. почты", "Альтернативный адрес электронной почты",
        "E-mail для рассылок", "Newsletters email", "Secondary Email", "EMAIL_OTHER", "EMAIL_MAILING",
        "Email Other",
    ],
    # --- messengers and web pages
    "messenger:telegram": ["Telegram", "Телеграм", "Контакт Telegram", "Telegram account", "IM_TELEGRAM"],
    "messenger:whatsapp": ["WhatsApp", "Ватсап", "Вотсап", "IM_WHATSAPP"],
    "messenger:viber": ["Viber", "Вайбер", "Контакт Viber", "Viber contact", "IM_VIBER"],
    "messenger:skype": ["Skype", "Скайп", "Контакт Skype", "Skype ID", "IM_SKYPE", "IM Skype"],
    "messenger:other": [
        "Мессенджер", "Месенджер", "Messenger", "Другой контакт", "Other Contact", "IM_OTHER", "ICQ", "Контакт ICQ",
        "ICQ Number", "IM_ICQ", "Jabber", "Контакт Jabber", "IM_JABBER", "Контакт MSN/Live!", "IM_MSN",
    ],
    "web:vk": ["ВКонтакте", "Вконтакте", "Страница ВКонтакте", "VK", "VK Page", "WEB_VK"],
    "web:facebook": ["Facebook", "Страница Facebook", "Facebook Page", "WEB_FACEBOOK"],
    "web:linkedin": ["LinkedIn", "Линкедин"],
    "web:instagram": ["Instagram", "Инстаграм"],
    "web:other": [
        "Личная страница", "Особиста сторінка", "Personal Page", "Personal Web Page", "Home Web Page", "Другой сайт",
        "Інший сайт", "Other Website", "Web Page 2", "Веб-страница 2", "WEB_HOME", "WEB_OTHER", "Twitter",
        "Микроблог Twitter", "WEB_TWITTER", "LiveJournal", "Страница LiveJournal", "WEB_LIVEJOURNAL",
    ],
    # --- addresses; @group: columns that make one address together
    "address": [
        "Адрес", "Адреса", "Address", "ADDRESS", "Фактический адрес", "Фактична адреса", "Почтовый адрес",
        "Поштова адреса", "Адрес (стр. 2)", "Город", "Місто", "City", "Почтовый индекс", "Индекс", "Поштовий індекс",
        "Postal Code", "ZIP", "Zip Code", "Район", "Область", "Регион", "Region", "State", "Страна", "Країна",
        "Country", "Улица", "Вулиця", "Street", "Дом", "Квартира",
    ],
    "address@work": [
        "Business Address", "Business Street", "Business Street 2", "Business Street 3", "Business Address PO Box",
        "Business City", "Business State", "Business Postal Code", "Business Country", "Business Country/Region",
        "Улица (раб. адрес)", "Город (раб. адрес)", "Область (раб. адрес)", "Индекс (раб. адрес)",
        "Страна или регион (раб. адрес)", "Адрес (раб.)", "Город (раб.)", "Страна (раб.)", "Почтовый индекс (раб.)",
        "Work Address", "Work City", "Work State", "Work Zip", "Work ZipCode", "Work Country", "Рабочий адрес",
        "Робоча адреса",
    ],
    "address@home": [
        "Home Address", "Home Street", "Home Street 2", "Home Street 3", "Home Address PO Box", "Home City",
        "Home State", "Home Postal Code", "Home Country", "Home Country/Region", "Home ZipCode", "Home Zip",
        "Улица (дом. адрес)", "Город (дом. адрес)", "Область (дом. адрес)", "Почтовый код (дом.)",
        "Страна или регион (дом. адрес)", "Домашний адрес", "Домашня адреса",
    ],
    "address@other": [
        "Other Address", "Other Street", "Other Street 2", "Other Street 3", "Other Address PO Box", "Other City",
        "Other State", "Other Postal Code", "Other Country", "Other Country/Region", "Улица (другой адрес)",
        "Город (другой адрес)", "Область (другой адрес)", "Индекс (другой адрес)",
        "Страна или регион (другой адрес)",
    ],
}

# Headers that look alike but must stay unmapped: someone else's phone, the E-mail's display name...
IGNORED_HEADERS = [
    "Assistant's Phone", "Assistant's Name", "Manager's Name", "E-mail Type", "E-mail Display Name",
    "E-mail 2 Type", "E-mail 2 Display Name", "E-mail 3 Type", "E-mail 3 Display Name", "Phonetic First Name",
    "Phonetic Middle Name", "Phonetic Last Name", "Given Name Yomi", "Family Name Yomi", "Additional Name Yomi",
    "Yomi Name", "Photo", "ID", "Дата создания", "Дата изменения", "Created", "Modified", "Кем создан",
    "Кем изменен", "Кем создана", "Кем изменена", "Created by", "Modified by",
]

# The vCard reader's own columns (readers/vcard_reader.py): matched exactly, before anything else.
VCARD_HEADERS = {
    "N:family": "last_name", "N:given": "first_name", "N:additional": "middle_name", "N:prefix": "honorific",
    "FN": "full_name", "ORG": "company", "TITLE": "position", "TEL:cell": "phone:mobile", "TEL:work": "phone:work",
    "TEL:home": "phone:home", "TEL": "phone:other", "EMAIL:work": "email:work", "EMAIL:home": "email:home",
    "EMAIL": "email:other", "ADR:work": "address@work", "ADR:home": "address@home", "ADR": "address@other",
    "BDAY": "birthday", "NOTE": "comment", "URL": "website", "CATEGORIES": "tags", "X-SKYPE": "messenger:skype",
    "X-TELEGRAM": "messenger:telegram", "X-WHATSAPP": "messenger:whatsapp", "X-VIBER": "messenger:viber",
}

# Google's per-row labels of "Phone 1 - Value" and the like ("* Mobile", "Work", "Домашний"): label -> kind.
KIND_LABELS = {
    "phone": {
        "mobile": "mobile", "cell": "mobile", "iphone": "mobile", "мобильный": "mobile", "мобільний": "mobile",
        "сотовый": "mobile", "work": "work", "business": "work", "main": "work", "company main": "work",
        "рабочий": "work", "робочий": "work", "основной": "work", "home": "home", "домашний": "home",
        "домашній": "home",
    },
    "email": {
        "work": "work", "business": "work", "рабочий": "work", "робочий": "work", "home": "home",
        "personal": "home", "домашний": "home", "личный": "home", "домашній": "home", "особистий": "home",
    },
    "web": {
        "work": "website", "homepage": "website", "home page": "website", "home": "website", "profile": "website",
        "blog": "website", "website": "website", "linkedin": "linkedin", "facebook": "facebook", "vk": "vk",
        "vkontakte": "vk", "instagram": "instagram",
    },
    "messenger": {
        "skype": "skype", "telegram": "telegram", "whatsapp": "whatsapp", "viber": "viber",
    },
}

# Google's numbered columns: "E-mail 1 - Value", "Phone 2 - Label", "Address 1 - Formatted", "IM 1 - Service".
GOOGLE_NUMBERED = re.compile(
    r"^(?P<section>e-?mail|phone|website|im|address|organization|organisation|relation|event|custom field)\s+"
    r"(?P<number>\d+)\s*-\s*(?P<part>.+)$", re.IGNORECASE)
GOOGLE_SECTIONS = {"email": "email", "e-mail": "email", "phone": "phone", "website": "web", "im": "messenger"}
GOOGLE_ADDRESS_PARTS = ("street", "extended address", "po box", "city", "region", "postal code", "country")


def _build():
    concepts = {}
    for concept, headers in CONCEPT_HEADERS.items():
        for header in headers:
            key = header_key(header)
            if key in concepts and concepts[key] != concept:
                raise ValueError(f"header {header!r} is listed under {concepts[key]!r} and {concept!r}")
            concepts[key] = concept
    for header in IGNORED_HEADERS:
        concepts.setdefault(header_key(header), "")
    return concepts


HEADER_CONCEPTS = _build()


def concept_for(header):
    """The concept of a header ("" = known and deliberately not imported), or None when unknown."""
    return HEADER_CONCEPTS.get(header_key(header))


def kind_from_label(channel, label, default):
    text = str(label or "").strip().lstrip("*").strip().casefold()
    if not text:
        return default
    return KIND_LABELS.get(channel, {}).get(text, "other")
