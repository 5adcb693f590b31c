"""The digest in a real headless Chromium: it loads cleanly, draws its charts, runs nothing."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import dated_to_the_last_run, import_or_skip, run_congvu
from tests.test_digest import HOSTILE_PAGE, crawl_page

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# A browser that fetches nothing on its own: no updates, no sync, no first-run pages.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1200,2400",
)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """Chromium from the Debian package, driven by selenium through chromedriver."""
    webdriver = import_or_skip("selenium.webdriver", "selenium (the dev extra) is not installed")
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        message = "Chromium not installed: apt-get install chromium chromium-driver (.ci/run does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message + " (CI=true: it must be present)")
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    driver = webdriver.Chrome(options=options, service=service)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def demo_digest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """latest.html of a demo run, its articles dated to the run's day."""
    data_dir = tmp_path_factory.mktemp("demo")
    result = run_congvu("demo", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    dated_to_the_last_run(data_dir)  # so its daily chart has columns, whatever day it runs
    result = run_congvu("digest", "--data-dir", str(data_dir))
    assert result.returncode == 0, result.stdout + result.stderr
    return data_dir / "digest" / "latest.html"


def opened(driver: object, page: Path) -> list[dict]:
    """Open a file in the browser; return what it logged to the console."""
    driver.get_log("browser")  # drop what earlier pages logged
    driver.get(page.as_uri())
    return driver.get_log("browser")


def test_digest_loads_with_no_console_error(browser: object, demo_digest: Path) -> None:
    logged = opened(browser, demo_digest)
    assert [e for e in logged if e["level"] in ("SEVERE", "WARNING")] == []
    assert browser.title.startswith("Bản tin giám sát báo chí ngày ")


def test_digest_charts_are_drawn(browser: object, demo_digest: Path, tmp_path: Path) -> None:
    opened(browser, demo_digest)
    charts = browser.find_elements("css selector", "figure > svg")
    assert len(charts) == 3
    for chart in charts:
        assert chart.size["width"] > 500 and chart.size["height"] > 50
        bars = chart.find_elements("css selector", "rect[fill='#b00020']")  # criticism
        assert bars and all(bar.size["width"] > 0 for bar in bars)
    shot = tmp_path / "digest.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    if keep := os.environ.get("CONGVU_SCREENSHOT"):  # for a person to look at
        shutil.copyfile(shot, keep)


def test_hostile_digest_runs_nothing(
    browser: object, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The crawled page's script, onerror= and javascript: link stay text in the browser."""
    data_dir = tmp_path_factory.mktemp("hostile")
    crawl_page(data_dir, HOSTILE_PAGE, "Báo <img src=x onerror=alert(0)>")
    logged = opened(browser, data_dir / "digest" / "latest.html")
    assert [e for e in logged if e["level"] == "SEVERE"] == []
    assert browser.execute_script("return document.querySelectorAll('script, img').length") == 0
    heading = browser.find_element("css selector", "article.criticism h3").text
    assert heading.startswith("<script>alert(1)</script>")
