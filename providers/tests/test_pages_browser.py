"""Settings → AI providers in a real browser on a real server: the empty list, the five-step wizard
against a local OpenAI-compatible server (the live model list filling the model box, the price from
genai-prices, the saved provider tested on arrival), the key never in a page, disabling in place, the
usage dashboard, and the pages on a phone without sideways scrolling. Every page runs under the
Content-Security-Policy with no violation and no script error (the ``page`` fixture checks both)."""

from __future__ import annotations

import os
import re
import threading
from http.server import ThreadingHTTPServer

import pytest

from conftest import TEST_PROFILES
from markets.services import coins_seed
from providers.models import ProviderConfig
from providers.tests.page_fixtures import KEY, ChatCompletions
from tests.processes import processes
from tests.test_browser import CHROMIUM, page  # noqa: F401 (the fixture)
from tests.test_browser_alerts import PASSWORD, in_thread

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"),
]
pytest.importorskip("providers.adapters.openai_family", reason="the OpenAI-compatible adapter")


@pytest.fixture
def server(transactional_db, tmp_path):
    """Daphne alone (no feed: these pages need none)."""
    coins_seed(profiles=TEST_PROFILES)
    with processes(tmp_path) as group:
        yield group.daphne(FEED_EMBEDDED="false")


@pytest.fixture
def trader(server, django_user_model):
    """A trader (created before the browser starts: see ``page``)."""
    return django_user_model.objects.create_user("trader", password=PASSWORD, email="t@example.com")


@pytest.fixture
def openai_server():
    local = ThreadingHTTPServer(("127.0.0.1", 0), ChatCompletions)
    threading.Thread(target=local.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{local.server_address[1]}/v1"
    local.shutdown()
    local.server_close()


def log_in(tab, path: str) -> None:
    tab.goto(f"{tab.base}/accounts/login/?next={path}")
    tab.fill("input[name=username]", "trader")
    tab.fill("input[name=password]", PASSWORD)
    tab.click("form button[type=submit]")
    tab.wait_for_url(re.compile(re.escape(path) + "$"))


def no_key(tab) -> None:
    assert KEY not in tab.content()


def test_the_wizard_adds_tests_and_lists_a_provider_without_ever_showing_its_key(trader, openai_server, page):  # noqa: F811
    log_in(page, "/settings/ai")
    page.wait_for_selector("#providers-empty >> text=the built-in assistant answers without one")
    page.click("#add-provider")
    page.wait_for_url(re.compile(r"/settings/ai/add\?new$"))
    page.click("label.kind-card:has(input[value=openai])")
    page.click("#wizard-next")

    page.wait_for_url(re.compile(r"/add/credentials$"))
    page.click("#wizard-next")  # no key: named on its field
    page.wait_for_selector("label.field.invalid >> text=Required for openai")
    page.fill("input[name=api_key]", KEY)
    page.fill("input[name=base_url]", openai_server)
    page.fill("input[name=name]", "Lab")
    page.click("#wizard-next")

    page.wait_for_url(re.compile(r"/add/model$"))
    page.wait_for_selector("#listed-model option[value='gpt-4.1-nano']", state="attached")
    no_key(page)
    page.select_option("#listed-model", "gpt-4.1-nano")
    assert page.input_value("#id_model") == "gpt-4.1-nano"  # the pick fills the box the form sends
    page.click("#wizard-next")

    page.wait_for_url(re.compile(r"/add/budget$"))
    assert "genai-prices lists gpt-4.1-nano at" in page.text_content("#list-price")
    page.fill("input[name=monthly_budget_usd]", "20")
    page.click("#wizard-next")

    page.wait_for_url(re.compile(r"/add/test$"))
    result = page.locator(".test-result .outcome.sent")
    result.wait_for()
    assert re.search(r"Lab answered in \d+ ms with gpt-4.1-nano", result.text_content())
    no_key(page)
    page.click("#wizard-done")

    page.wait_for_url(re.compile(r"/settings/ai#provider-\d+$"))
    pk = in_thread(lambda: ProviderConfig.objects.get(user__username="trader").pk)
    row = page.locator(f"#provider-{pk}")
    assert "Lab" in row.text_content() and "gpt-4.1-nano" in row.text_content()
    assert "of $20.00" in row.locator(".spend-text").text_content()  # the test request's cost, against the budget
    no_key(page)
    page.evaluate("window.__sameDocument = true")
    row.locator(".toggle-button").click()
    page.wait_for_selector(f"#provider-{pk}.provider-off >> text=Enable")
    assert page.evaluate("window.__sameDocument") is True
    assert in_thread(lambda: ProviderConfig.objects.get(pk=pk).enabled) is False

    page.click("#ai-usage-tab")
    page.wait_for_url(re.compile(r"/settings/ai/usage$"))
    assert page.text_content("#month-requests").strip() == "1"  # the connection test, recorded
    assert page.locator("#trend li").count() == 12


@pytest.mark.parametrize("path", ["/settings/ai", "/settings/ai/add", "/settings/ai/usage", "/settings/notifications"])
def test_settings_pages_fit_a_phone_without_sideways_scrolling(trader, page, path):  # noqa: F811
    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, path)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width}px wide"
