"""A knowledge base in the browser: made and filled on its page, attached in the settings,
and an answer that cites its PDF by name and page, each source opening our copy."""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Page, expect

from interactions_client.simulator.pdf import tiny_pdf
from tests.harness.browser import answer, screenshot, send_message, wait_status


def test_a_knowledge_base_answer_cites_its_pdf_by_page(quick_page: Page, tmp_path: Path) -> None:
    page = quick_page
    handbook = tmp_path / "handbook.pdf"
    handbook.write_bytes(
        tiny_pdf(["Welcome to the handbook", "Vacation policy: llamas get 30 days off"])
    )
    broken = tmp_path / "broken.txt"
    broken.write_bytes(b"\x00\x01binary")

    page.goto("/kb/")
    page.fill("#kb-name", "Llama handbook")
    page.get_by_role("button", name="Create").click()
    expect(page.locator("#kb-title")).to_contain_text("Llama handbook")
    page.set_input_files("#kb-file", str(handbook))
    page.get_by_role("button", name="Upload").click()
    row = page.locator("#kb-documents tbody tr").filter(has_text="handbook.pdf")
    # Indexing, then ready: the page follows the state without a reload.
    expect(row.locator(".state")).to_have_text("Ready", timeout=15_000)
    page.set_viewport_size({"width": 1440, "height": 900})
    screenshot(page, "knowledge-base")
    page.set_viewport_size({"width": 390, "height": 844})
    screenshot(page, "knowledge-base-mobile")
    page.set_viewport_size({"width": 1440, "height": 900})

    # A refused document says why, on the page.
    page.set_input_files("#kb-file", str(broken))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".form-error")).to_contain_text("not supported")

    page.goto("/kb/")
    expect(page.locator(".kb-list")).to_contain_text("Llama handbook")
    screenshot(page, "knowledge-list")

    page.goto("/")
    page.click("#settings-btn")
    page.get_by_label("Llama handbook").check()
    page.get_by_role("button", name="Save settings").click()
    expect(page.locator("#settings-status")).to_have_text("Saved.")
    turn = send_message(page, "What is the llamas vacation policy?")
    wait_status(turn, "completed")
    steps = answer(turn)
    expect(steps).to_contain_text("30 days off")
    source = steps.locator(".sources li").first
    expect(source).to_contain_text("handbook.pdf, page 2")
    marker = steps.locator("sup.cite a").first
    href = marker.get_attribute("href") or ""
    assert href.startswith("/kb/cited?document=fileSearchStores") and href.endswith("#page=2")
    assert source.locator("a").get_attribute("href") == href
    marker.hover()
    screenshot(page, "knowledge-answer")

    # The source opens our copy of the PDF, at its page.
    response = page.request.get(href.split("#")[0])
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert re.search(r"/kb/\d+/d/[0-9a-f-]{36}$", response.url)
    assert response.body() == handbook.read_bytes()


def test_a_video_shows_its_upload_then_processing_and_is_answered_by_uri(
    quick_page: Page, tmp_path: Path
) -> None:
    page = quick_page
    video = tmp_path / "clip.mp4"
    body = b"isom\x00\x00\x00\x00isomiso2avc1mp41"
    head = (8 + len(body)).to_bytes(4, "big") + b"ftyp" + body
    size = 3 * 2**20
    video.write_bytes(head + (size - len(head)).to_bytes(4, "big") + b"mdat" + bytes(size))
    page.goto("/")
    page.set_input_files("#file-input", str(video))
    chip = page.locator("#attachment-tray [data-state]").first
    expect(chip).to_have_attribute("data-state", "ready", timeout=15_000)
    turn = send_message(page, "What happens in this video?")
    # The turn says what it waits for, then the answer replaces it.
    expect(turn.locator(".turn-wait")).to_contain_text("Processing video…", timeout=10_000)
    wait_status(turn, "completed")
    expect(turn.locator(".turn-wait")).to_have_count(0)
    expect(answer(turn)).to_contain_text("Files API")
