"""Deep Research in the browser: the plan card, Edit plan, Start research, the progress, and
the cited report there after the tab was closed and opened again."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from tests.harness.browser import send_message, turns, wait_status

SHOTS = Path("/work/shots/research")
DESKTOP = {"width": 1440, "height": 900}
PHONE = {"width": 390, "height": 844}
REPORT_TIMEOUT_MS = 120_000


def shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size(DESKTOP)
    page.screenshot(path=str(SHOTS / f"{name}-desktop.png"))
    page.set_viewport_size(PHONE)
    page.wait_for_timeout(400)  # the sidebar slides away on a narrow screen
    page.screenshot(path=str(SHOTS / f"{name}-phone.png"))
    page.set_viewport_size(DESKTOP)


def test_plan_edit_start_and_the_report_after_the_tab_was_closed(
    page: Page, context: BrowserContext
) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto("/")
    page.locator("#model-btn").click()  # the model picker beside the message box
    page.get_by_role("option", name=re.compile("Deep Research")).click()
    expect(page.locator("#model-btn")).to_contain_text("Deep Research")

    plan = send_message(page, "How do heat pumps cope with cold winters?")
    wait_status(plan, "completed")
    card = plan.locator(".plan-card")
    expect(card).to_be_visible()
    expect(plan.locator(".msg-model .steps")).to_contain_text("Research plan")
    shoot(page, "plan-card")

    # Edit plan: the plan as editable text; the revision is answered with a revised plan.
    card.get_by_role("button", name="Edit plan").click()
    area = card.locator("textarea")
    expect(area).to_have_value(re.compile("Research plan"))
    area.fill("Also compare noise levels of indoor units.")
    shoot(page, "plan-edit")
    card.get_by_role("button", name="Send revised plan").click()
    expect(turns(page)).to_have_count(2)
    revised = turns(page).nth(1)
    wait_status(revised, "completed")
    expect(revised.locator(".msg-model .steps")).to_contain_text("noise levels")
    expect(plan.locator(".plan-card")).to_be_hidden()  # only the latest plan can be started
    expect(revised.locator(".plan-card")).to_be_visible()

    # Start research: it runs in the background; its progress shows as it comes.
    revised.get_by_role("button", name="Start research").click()
    expect(turns(page)).to_have_count(3)
    research = turns(page).nth(2)
    expect(research.locator(".msg-user .user-text")).to_have_text("Start the research.")
    expect(research.locator(".thinking").first).to_contain_text(
        "Starting the research", timeout=REPORT_TIMEOUT_MS
    )
    expect(research).to_have_attribute("data-status", re.compile("queued|in_progress"))
    shoot(page, "research-progress")
    url = page.url

    # Every tab closed: the server goes on. Another page hears of the report when it lands
    # (the unseen dot), and the report is there when the conversation opens again.
    conversation = re.search(r"/c/(\d+)/", url)
    assert conversation, url
    page.close()
    again = context.new_page()
    again.set_viewport_size(DESKTOP)
    again.goto("/")
    item = again.locator(f'#conv-list [data-conversation="{conversation.group(1)}"]')
    expect(item).to_have_class(re.compile(r"\bhas-news\b"), timeout=REPORT_TIMEOUT_MS)
    again.goto(url)
    report = turns(again).nth(2)
    wait_status(report, "completed", timeout=REPORT_TIMEOUT_MS)
    citations = report.locator("sup.cite a")
    expect(citations.first).to_be_visible()
    assert citations.first.get_attribute("href", timeout=1000).startswith("https://")
    expect(report.locator(".plan-card")).to_have_count(0)
    expect(report.get_by_role("button", name="Start research")).to_have_count(0)
    again.wait_for_timeout(500)  # the last frames of the turn settle
    again.locator("#messages sup.cite").first.evaluate("el => el.scrollIntoView({block: 'center'})")
    shoot(again, "research-report")
