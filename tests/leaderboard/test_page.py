"""The version page in a real headless Chromium (Debian's chromium + chromedriver) against the server."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from campaignlab.evaluation.plots import CLASS_COLOURS
from campaignlab.leaderboard.client import get_ranking, submit_predictions
from tests.conftest import REPO
from tests.leaderboard.conftest import Server, answer_labels, write_predictions

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PLOT_HEIGHT = 240  # px, page.f1_chart's plot area


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        subprocess.run(["bash", str(REPO / "scripts" / "ensure-chromium.sh")], check=True)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1100",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def test_version_page_shows_ranking_and_chart(
    server: Server, browser, tiny_dataset: Path, tmp_path: Path
) -> None:
    from PIL import Image
    from selenium.webdriver.common.by import By

    # Prepare: three more submissions with known, distinct scores; one model name tries HTML injection.
    t = answer_labels(tiny_dataset)
    ids, y = t["sample_id"].to_pylist(), np.asarray(t["label"], np.int8)
    for k, model in ((0, "perfect"), (40, "<b>bold</b>"), (120, "weak")):
        pred = y.copy()
        pred[:k] = (pred[:k] + 1) % 3
        path = write_predictions(tmp_path / f"{k}.parquet", ids, pred)
        submit_predictions(server.url, server.tokens["carol"], "v25", path, model=model)
    ranking = get_ranking(server.url, server.tokens["carol"], "v25")

    # Execute: open the index, follow the link to the version page.
    browser.get(server.url + "/")
    browser.find_element(By.LINK_TEXT, "v25").click()
    assert browser.current_url == server.url + "/versions/v25"

    # Assert: the table lists every submission in ranking order.
    assert "v25" in browser.title
    rows = browser.find_elements(By.CSS_SELECTOR, "#ranking tr.ranking-row")
    assert len(rows) == len(ranking)
    for row, r in zip(rows[:5], ranking[:5], strict=True):
        cells = [td.text for td in row.find_elements(By.TAG_NAME, "td")]
        assert cells[:5] == [
            str(r["rank"]),
            r["researcher"],
            r["model"],
            str(r["id"]),
            f"{r['scores']['macro_f1']:.4f}",
        ]
    assert browser.find_elements(By.CSS_SELECTOR, "#ranking b") == []  # the model name was escaped
    # The stylesheet applied: the Content-Security-Policy allows it by its hash (and nothing else).
    th = browser.find_element(By.CSS_SELECTOR, "#ranking th")
    assert th.value_of_css_property("background-color") == "rgba(243, 243, 243, 1)"
    assert "public part of the test split" in browser.find_element(By.CSS_SELECTOR, "p.meta").text
    assert any(c.text == "<b>bold</b>" for c in browser.find_elements(By.CSS_SELECTOR, "#ranking td"))
    # The chart: three bars per top-10 submission, rendered at a height proportional to the F1.
    bars = browser.find_elements(By.CSS_SELECTOR, "#f1-chart rect.bar")
    top = ranking[:10]
    assert len(bars) == 3 * len(top)
    keys = {"negative": "f1_negative", "average": "f1_average", "positive": "f1_positive"}
    for bar in bars:
        sub = next(r for r in top if r["id"] == int(bar.get_attribute("data-submission")))
        f1 = sub["scores"][keys[bar.get_attribute("data-class")]]
        assert float(bar.get_attribute("data-f1")) == pytest.approx(f1, abs=1e-6)
        assert bar.rect["height"] == pytest.approx(PLOT_HEIGHT * f1, abs=1.5)
    assert browser.find_elements(By.CSS_SELECTOR, "#f1-chart rect.bar")[0].is_displayed()

    # And the pixels: a screenshot of the chart holds every class colour of the bars.
    page_shot, chart_shot = tmp_path / "leaderboard-v25.png", tmp_path / "leaderboard-v25-chart.png"
    assert browser.save_screenshot(str(page_shot))
    chart = browser.find_element(By.ID, "f1-chart")
    browser.execute_script("arguments[0].scrollIntoView();", chart)
    assert chart.screenshot(str(chart_shot))
    if os.environ.get("CAMPAIGNLAB_SCREENSHOT_DIR"):  # for a person to look at
        for shot in (page_shot, chart_shot):
            shutil.copy(shot, Path(os.environ["CAMPAIGNLAB_SCREENSHOT_DIR"]) / shot.name)
    img = Image.open(chart_shot).convert("RGB")
    assert img.width >= 200 and img.height >= PLOT_HEIGHT
    pixels = {rgb for _, rgb in img.getcolors(maxcolors=img.width * img.height)}
    for colour in CLASS_COLOURS.values():
        rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
        assert rgb in pixels, colour


def test_unknown_version_page_is_404_and_lists_versions(server: Server, browser) -> None:
    import httpx

    r = httpx.get(server.url + "/versions/nope", timeout=30)
    assert r.status_code == 404 and "/versions/v25" in r.text
