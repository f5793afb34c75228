"""The Content-Security-Policy in a real browser (Playwright + Debian's Chromium, fixtures of test_browser.py):
the pages work with the policy on (no violation reported, htmx search and the app's scripts run), and code
injected into a page does not run — neither an inline script nor an inline event handler."""

import re

import pytest

from tests.factories import make_contact
from tests.test_browser import CHROMIUM, IN_CI, chromium, page  # noqa: F401  (fixtures)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists() and not IN_CI, reason="needs Chromium at /usr/bin/chromium"),
]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_pages_work_under_the_policy_and_injected_code_does_not_run(transactional_db, page, live_server,  # noqa: F811
                                                                     admin_user):
    from playwright.sync_api import expect

    from access.models import Role

    violations = []
    page.on("console", lambda message: violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    make_contact(admin_user, last_name="Политиков", first_name="Иван")
    make_contact(admin_user, last_name="Другой", first_name="Пётр")

    page.goto("/")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    page.fill("#id_username", "admin")
    page.fill("#id_password", "password")
    page.click("form[action$='/accounts/login/'] button[type=submit]")
    expect(page).to_have_url(re.compile(r"^https?://[^/]+/$"))

    # htmx is loaded, configured by the meta tag, and its live search works (a request, a swap, no eval).
    response = page.goto("/contacts/")
    assert response.status == 200 and page.url.endswith("/contacts/"), (response.status, page.url,
                                                                         page.content()[:3000])
    assert page.evaluate("() => window.htmx && htmx.config.includeIndicatorStyles === false") is True
    page.fill("#list-q", "Политиков")
    expect(page).to_have_url(re.compile(r"q=%D0%9F"))
    expect(page.locator("#list-results")).to_contain_text("Политиков")
    expect(page.locator("#list-results")).not_to_contain_text("Другой")

    # app.js runs: the user menu and the styles of the page apply (our stylesheet, not inline).
    assert page.evaluate("() => getComputedStyle(document.querySelector('svg.sprite')).display") == "none"
    for url in ("/contacts/add/", "/accounts/sessions/", "/accounts/two-factor/set-up/", "/admin/",
                f"/admin/access/role/{Role.objects.first().pk}/change/", "/trash/"):
        page.goto(url)
        expect(page.locator("body")).to_be_visible()
    page.goto("/accounts/two-factor/set-up/")
    expect(page.locator(".qr-code svg")).to_be_visible()
    assert violations == [], violations

    # Injected code does not run: an inline script and an inline event handler are refused by the browser.
    page.goto("/contacts/")
    page.evaluate("""() => {
        const script = document.createElement('script');
        script.textContent = 'window.__injected = true';
        document.body.appendChild(script);
        document.body.insertAdjacentHTML('beforeend', '<img src="/static/crm/favicon.svg" onload="window.__handler = true">');
    }""")
    page.wait_for_timeout(300)
    assert page.evaluate("() => window.__injected") is None
    assert page.evaluate("() => window.__handler") is None
    assert any("inline script" in text or "script-src" in text for text in violations), violations
