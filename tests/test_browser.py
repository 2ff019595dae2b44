"""A real browser (Playwright driving Debian's Chromium) on a real server with a live feed."""

from __future__ import annotations

import itertools
import os
import re
import shutil

import pytest
from django.conf import settings

from tests.processes import processes

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = pytest.mark.skipif(
    not os.path.exists(CHROMIUM), reason="Chromium is not installed (apt-get install chromium)"
)

# Without the last three, Chromium's own background connections are refused by this network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture
def server(seeded_market, tmp_path):
    """Daphne with the feed: inside it (embedded) or as run_feed beside it (full stack)."""
    with processes(tmp_path) as group:
        if settings.REDIS_URL:
            group.feed(FEED_EMBEDDED="false")
            yield group.daphne(FEED_EMBEDDED="false")
        else:
            yield group.daphne(FEED_EMBEDDED="true")


# Every Content-Security-Policy violation of every document, reported to the test (the page's own
# scripts cannot stop it: Playwright installs this before them).
REPORT_CSP_VIOLATIONS = """document.addEventListener("securitypolicyviolation", (event) => window.reportCspViolation({
  page: location.pathname, directive: event.violatedDirective, blocked: event.blockedURI,
  source: `${event.sourceFile}:${event.lineNumber}`, sample: event.sample,
}), true);"""


@pytest.fixture
def page(server):
    # Imported here: Playwright's sync API runs an event loop, after which Django refuses ORM calls.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.set_default_timeout(20_000)
        errors: list[str] = []
        context.on("weberror", lambda error: errors.append(str(error.error)))  # every page a test opens
        # CSP violations twice over: the DOM event, and Chromium's console message for each. Tests too
        # run under the policy: wait_for_function takes "() => ..." (an expression would be eval'd).
        violations: list[dict | str] = []
        context.expose_function("reportCspViolation", lambda violation: violations.append(violation))
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        context.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
        page = context.new_page()
        page.base = server
        yield page
        page.wait_for_timeout(200)  # lets reports still on their way arrive
        browser.close()
        assert not errors, f"JavaScript errors: {errors}"
        assert not violations, f"Content-Security-Policy violations: {violations}"


def change_values(page) -> list[float]:
    texts = page.locator("#coin-table tbody span[id^='c-']").all_text_contents()
    return [float(t.rstrip("%")) for t in texts]


def test_dashboard_updates_prices_live_sorts_and_opens_a_chart(page):
    page.goto(page.base + "/")
    page.wait_for_selector("#live-status.live")
    page.evaluate("window.__sameDocument = true")

    before = page.text_content("#p-BTC")
    page.wait_for_function("before => document.querySelector('#p-BTC').textContent !== before", arg=before)
    assert page.evaluate("window.__sameDocument") is True  # changed without a reload

    page.click("a[data-sort='change24h']")
    page.wait_for_url(re.compile(r"ordering=-change24h"))
    page.wait_for_selector("a[data-sort='change24h'].desc")
    values = change_values(page)
    assert len(values) == 5
    # Sorted when served; live updates since then move 24h changes by hundredths at most.
    assert all(a >= b - 0.1 for a, b in itertools.pairwise(values)), values
    page.click("a[data-sort='change24h']")
    page.wait_for_url(re.compile(r"ordering=change24h"))
    page.wait_for_selector("a[data-sort='change24h'].asc")
    values = change_values(page)
    assert all(a <= b + 0.1 for a, b in itertools.pairwise(values)), values
    assert page.evaluate("window.__sameDocument") is True

    page.click("#coin-table a[href='/coins/ETH']")
    page.wait_for_url(re.compile(r"/coins/ETH$"))
    page.wait_for_function("() => Number(document.querySelector('#chart').dataset.loaded) > 100")
    assert page.locator("#chart canvas").count() > 0
    assert page.is_hidden("#chart-state")
    page.wait_for_function("() => document.querySelector('#chart').dataset.lastUpdate")  # the last candle moves live
    page.wait_for_selector(".book tbody.bids tr")
    depths = page.eval_on_selector_all(
        ".book tbody tr[data-depth]", "rows => rows.map((r) => r.style.getPropertyValue('--depth'))"
    )
    assert len(depths) == 30 and all(re.fullmatch(r"\d+%", d) for d in depths), depths  # each row's depth bar
    page.wait_for_selector(".trades tbody tr td.num")

    page.click("button[data-timeframe='1h']")
    page.wait_for_url(re.compile(r"timeframe=1h"))
    page.wait_for_function("() => document.querySelector('#chart').dataset.timeframe === '1h'")
    page.wait_for_function("() => Number(document.querySelector('#chart').dataset.loaded) >= 200")


def test_filters_show_field_errors_and_empty_states(page):
    page.goto(page.base + "/")
    page.fill("input[name=search]", "zzz")
    page.wait_for_selector("text=No coins match these filters.")
    page.fill("input[name=search]", "")
    page.fill("input[name=min_volume]", "1e16")  # the browser takes it; the server allows up to 1e15
    page.wait_for_selector(".banner.error >> text=min_volume")
    assert "between 0 and 1e+15" in page.text_content("#coin-table .banner.error")
    assert "min_price=" not in page.url  # empty filters stay out of the address
    page.fill("input[name=min_volume]", "6.5e8")  # between SOL (4e8) and ETH (1e9), with room for live drift
    page.wait_for_selector("#coin-table tbody tr[data-symbol='ETH']")
    assert page.locator("#coin-table tbody tr[data-symbol]").count() == 2  # BTC and ETH trade more


def test_dashboard_on_a_phone_hides_the_sidebar_behind_a_menu(page):
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(page.base + "/")
    assert page.is_hidden("#sidebar") or page.locator("#sidebar").bounding_box()["x"] < 0
    page.click(".menu-toggle")
    page.wait_for_function("() => document.body.classList.contains('nav-open')")
    assert page.locator("#coin-table table").bounding_box()["width"] <= 390


# Each price cell's computed background every 40 ms: whether it is tinted, and by which animation
# (a flash is one animation, known by its start time).
SAMPLE_PRICE_BACKGROUNDS = """async ({ cells, ms }) => {
  const samples = [];
  const start = performance.now();
  while (performance.now() - start < ms) {
    const now = performance.now() - start;
    cells.forEach((id) => {
      const cell = document.getElementById(id);
      const tinted = getComputedStyle(cell).backgroundColor !== "rgba(0, 0, 0, 0)";
      const flash = cell.getAnimations().map((animation) => animation.startTime).join();
      samples.push({ cell: id, t: now, tinted, flash });
    });
    await new Promise((resolve) => setTimeout(resolve, 40));
  }
  return samples;
}"""

# A 1 % rise of BTC, through the out-of-band swap that the feed's fragments go through (the page's
# listeners expect the target that htmx's own swaps give their events).
BTC_JUMPS = """() => {
  const price = parseFloat(document.getElementById("p-BTC").textContent.replace(/,/g, "")) * 1.01;
  const text = price.toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const fragment = `<span id="p-BTC" class="num price" hx-swap-oob="true">${text}</span>`;
  htmx.swap(document.body, fragment, { swapStyle: "none" }, { eventInfo: { target: document.body } });
}"""


def flash_lengths(samples: list[dict]) -> dict[tuple[str, str], float]:
    """How long each flash kept its cell tinted, in ms, by (cell, flash)."""
    times: dict[tuple[str, str], list[float]] = {}
    for sample in samples:
        if sample["tinted"]:
            times.setdefault((sample["cell"], sample["flash"]), []).append(sample["t"])
    return {key: max(ts) - min(ts) for key, ts in times.items()}


def test_dashboard_prices_stay_clear_between_brief_flashes_on_real_moves(page):
    page.goto(page.base + "/")
    page.wait_for_selector("#live-status.live")
    cells = page.eval_on_selector_all("#coin-table .price", "cells => cells.map((cell) => cell.id)")
    before = page.text_content("#p-BTC")
    page.wait_for_function("before => document.getElementById('p-BTC').textContent !== before", arg=before)

    samples = page.evaluate(SAMPLE_PRICE_BACKGROUNDS, {"cells": cells, "ms": 6000})  # prices tick every second
    for cell in cells:
        tinted = [s["tinted"] for s in samples if s["cell"] == cell]
        assert sum(tinted) / len(tinted) < 0.25, f"{cell} tinted {sum(tinted)} of {len(tinted)} samples"
    assert all(length < 1000 for length in flash_lengths(samples).values()), flash_lengths(samples)

    page.evaluate(BTC_JUMPS)
    jump = page.evaluate(SAMPLE_PRICE_BACKGROUNDS, {"cells": ["p-BTC"], "ms": 1500})
    assert jump[0]["tinted"], "a 1 % move flashes"
    assert 300 < max(flash_lengths(jump).values()) < 1000, flash_lengths(jump)


@pytest.fixture
def staff(seeded_market, django_user_model):
    """A staff member who may use the admin (created before the browser starts: see ``page``)."""
    django_user_model.objects.create_superuser(username="operator", password="a long pass phrase")
    return "operator", "a long pass phrase"


def test_sign_in_the_admin_and_swagger_ui_work_under_the_content_security_policy(staff, page):
    username, password = staff
    page.goto(page.base + "/accounts/signup/")
    page.goto(page.base + "/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form button[type=submit]")
    page.wait_for_selector(f".topbar .user >> text={username}")

    page.goto(page.base + "/admin/markets/coin/?q=BTC")
    page.click("#result_list a >> text=BTC")
    page.wait_for_selector("#coin_form")
    page.goto(page.base + "/admin/django_celery_beat/periodictask/add/")
    page.wait_for_selector(".field-crontab")
    assert page.is_hidden(".field-crontab_translation")  # the form's own inline script ran (nonce)

    page.goto(page.base + "/api/docs/")
    page.click(".opblock-summary-path[data-path='/api/coins']")
    page.click("button.try-out__btn")
    page.click("button.execute")
    page.wait_for_selector(".live-responses-table .response-col_status >> text=200")
