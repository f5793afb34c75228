"""A real browser (Playwright + Debian's Chromium) against pytest-django's live server.

Flow: log in, create a company, create a contact, link the contact to the company from the contact's card
through the record picker (htmx autocomplete + app.js), and see each record on the other's card.

Runs in CI (env CI set) unconditionally; locally it is skipped only when /usr/bin/chromium is missing.
`pytest -m "not browser"` leaves it out.
"""

import os
import re
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
IN_CI = bool(os.environ.get("CI"))

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not IN_CI, reason="needs Chromium at /usr/bin/chromium"),
]


@pytest.fixture(scope="module")
def chromium():
    # Playwright's sync API runs an asyncio loop in this thread; Django's ORM would refuse to run "from async
    # code". Set only while browser tests run, so subprocesses of other tests (check --deploy) never see it.
    saved = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        yield from _chromium()
    finally:
        if saved is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = saved


def _chromium():
    if IN_CI:
        from playwright.sync_api import sync_playwright
    else:
        sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(chromium, live_server, plain_static):
    context = chromium.new_context(base_url=live_server.url, locale="en-US")
    page = context.new_page()
    page.set_default_timeout(15_000)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


def record_id(page, prefix):
    match = re.search(rf"/{prefix}/(\d+)/", page.url)
    assert match, page.url
    return int(match.group(1))


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_create_company_and_contact_and_link_them(transactional_db, page, live_server, user, password):
    from playwright.sync_api import expect

    from contacts.models import Contact, ContactCompany

    # Log in.
    page.goto("/contacts/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    page.fill("#id_username", user.username)
    page.fill("#id_password", password)
    page.click("form[action$='/accounts/login/'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"/contacts/$"))

    # A company.
    page.goto("/companies/add/")
    page.fill("#id_name", "Браузерная компания")
    page.click("form.entity-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/companies/\d+/$"))
    company_id = record_id(page, "companies")
    expect(page.locator("h1")).to_contain_text("Браузерная компания")

    # A contact with a phone typed the local way.
    page.goto("/contacts/add/")
    page.fill("#id_last_name", "Тестов")
    page.fill("#id_first_name", "Пётр")
    page.fill("input[name='ch-phone-0-value']", "8 (495) 123-45-67")
    page.click("form.entity-form button[type=submit]")
    expect(page).to_have_url(re.compile(r"/contacts/\d+/$"))
    contact_id = record_id(page, "contacts")
    expect(page.locator("h1")).to_contain_text("Тестов Пётр")
    expect(page.locator("a[href='tel:+74951234567']")).to_have_text("+7 495 123-45-67")

    # Link it to the company from the contact's card: type, pick from the autocomplete, add a position.
    section = page.locator("#relation-companies")
    link_form = section.locator("form[action$='/link/companies/']")
    if not link_form.is_visible():
        section.locator("details.link-form > summary").click()
    search = section.locator("#link-companies-target")
    search.press_sequentially("Браузерная")
    option = section.locator(f"#link-companies-target_results .ac-option[data-id='{company_id}']")
    expect(option).to_have_text("Браузерная компания")
    option.click()
    expect(link_form.locator("input.ac-value[name=target]")).to_have_value(str(company_id))
    expect(search).to_have_value("Браузерная компания")
    link_form.locator("#link-companies-position").fill("Технический директор")
    link_form.locator("#link-companies-is_primary").check()
    link_form.locator("button[type=submit]").click()

    expect(page).to_have_url(re.compile(rf"/contacts/{contact_id}/#relation-companies$"))
    company_link = page.locator(f"#relation-companies a[href='/companies/{company_id}/']")
    expect(company_link).to_have_text("Браузерная компания")
    expect(page.locator("#relation-companies")).to_contain_text("Технический директор")

    # The company's card shows the contact.
    company_link.click()
    expect(page).to_have_url(re.compile(rf"/companies/{company_id}/$"))
    contact_link = page.locator(f"#relation-contacts a[href='/contacts/{contact_id}/']")
    expect(contact_link).to_have_text("Тестов Пётр")
    expect(page.locator("#relation-contacts")).to_contain_text("Технический директор")

    link = ContactCompany.objects.get(contact_id=contact_id, company_id=company_id)
    assert link.position == "Технический директор" and link.is_primary
    contact = Contact.objects.get(pk=contact_id)
    assert contact.owner == user and contact.created_by == user
    assert [p.normalized for p in contact.phones] == ["+74951234567"]
