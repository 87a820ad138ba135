"""The service's page in a real headless Chromium (Debian's chromium + chromedriver) against `serve`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from campaignlab import MODALITIES
from campaignlab.serving.page import CHART_HALF_WIDTH
from tests.conftest import REPO
from tests.serving.conftest import Service, raw_campaigns

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")
PREDICT = "/v1/endpoints/e1/deployedModels/d1:predict"


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        subprocess.run(["bash", str(REPO / "scripts" / "ensure-chromium.sh")], check=True)
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must not try to download a browser
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1280,1200",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):  # fmt: skip
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=DriverService(str(CHROMEDRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def fill(browser, campaign: dict) -> None:
    from selenium.webdriver.common.by import By

    for field in ("audience", "brand", "creative", "platform", "geo"):
        box = browser.find_element(By.ID, field)
        box.clear()
        box.send_keys(campaign[field])


def test_page_predicts_explains_and_recommends(
    service: Service, browser, tiny_dataset: Path, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    campaign = raw_campaigns(tiny_dataset, 5)[4]
    expected = httpx.post(service.url + PREDICT, json={"instances": [campaign]}, timeout=60).json()[
        "predictions"
    ][0]

    # Type a campaign and predict.
    browser.get(service.url + "/")
    assert "robust_modality" in browser.title
    fill(browser, campaign)
    browser.find_element(By.ID, "predict-btn").click()
    wait = WebDriverWait(browser, 60)
    wait.until(lambda b: b.find_element(By.ID, "tier").get_attribute("data-tier"))
    assert browser.find_element(By.ID, "tier").get_attribute("data-tier") == expected["tier"]
    # The probabilities: one bar per class, width proportional to the probability.
    bars = browser.find_elements(By.CSS_SELECTOR, "#probabilities .prob-bar")
    assert [b.get_attribute("data-class") for b in bars] == ["negative", "average", "positive"]
    for bar in bars:
        p = expected["probabilities"][bar.get_attribute("data-class")]
        assert float(bar.get_attribute("data-value")) == pytest.approx(p, abs=1e-9)
        track = bar.find_element(By.XPATH, "..").rect["width"]
        assert bar.rect["width"] == pytest.approx(track * p, abs=1.5)
    # The attribution chart: five bars, the largest |value| spans the half width, signs on their side.
    rects = browser.find_elements(By.CSS_SELECTOR, "#attribution-chart rect.attr-bar")
    assert [r.get_attribute("data-modality") for r in rects] == list(MODALITIES)
    values = {m: expected["attribution"][m] for m in MODALITIES}
    biggest = max(abs(v) for v in values.values())
    for r in rects:
        v = values[r.get_attribute("data-modality")]
        assert float(r.get_attribute("data-value")) == pytest.approx(v, abs=1e-9)
        assert float(r.get_attribute("width")) == pytest.approx(
            max(CHART_HALF_WIDTH * abs(v) / biggest, 0.5), abs=0.01
        )
        assert r.get_attribute("fill") == ("#2ca02c" if v >= 0 else "#d62728")

    # Recommendations for the same brand and audience.
    browser.find_element(By.ID, "recommend-btn").click()
    wait.until(lambda b: len(b.find_elements(By.CSS_SELECTOR, "#recommendations tr.rec-row")) == 5)
    rows = browser.find_elements(By.CSS_SELECTOR, "#recommendations tr.rec-row")
    p_pos = [float(r.find_elements(By.TAG_NAME, "td")[4].text) for r in rows]
    assert p_pos == sorted(p_pos, reverse=True)
    shot = tmp_path / "serving-page.png"
    assert browser.save_screenshot(str(shot))
    if os.environ.get("CAMPAIGNLAB_SCREENSHOT_DIR"):  # for a person to look at
        shutil.copy(shot, Path(os.environ["CAMPAIGNLAB_SCREENSHOT_DIR"]) / shot.name)

    # A pasted campaign with a bad ZIP: the service's 400 message is shown, nothing else changes.
    box = browser.find_element(By.ID, "paste")
    box.clear()
    box.send_keys(json.dumps({**campaign, "geo": "123"}))
    browser.find_element(By.ID, "paste-btn").click()
    wait.until(lambda b: b.find_element(By.ID, "error").text)
    assert "instances[0].geo" in browser.find_element(By.ID, "error").text
    assert browser.find_element(By.ID, "tier").get_attribute("data-tier") == expected["tier"]


def test_page_inserts_user_text_as_text(service: Service, browser, tiny_dataset: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    campaign = {**raw_campaigns(tiny_dataset, 1)[0], "platform": "<b>bold</b>"}
    browser.get(service.url + "/")
    fill(browser, campaign)
    browser.find_element(By.ID, "predict-btn").click()
    WebDriverWait(browser, 60).until(lambda b: b.find_element(By.ID, "warnings").text)
    assert "<b>bold</b>" in browser.find_element(By.ID, "warnings").text  # shown literally
    assert browser.find_elements(By.CSS_SELECTOR, "#warnings b") == []
