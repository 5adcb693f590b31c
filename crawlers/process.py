"""Scrapy settings for one crawl: the project's polite constants, replay tweaks, test overrides."""

from __future__ import annotations

import json
import os

from scrapy.settings import Settings

# A JSON object of Scrapy settings applied last, e.g. {"DOWNLOAD_TIMEOUT": 2}: tests, benchmarks.
SETTINGS_ENV = "CONGVU_SCRAPY_SETTINGS"


def env_overrides() -> dict[str, object]:
    """The settings CONGVU_SCRAPY_SETTINGS asks for ({} when unset)."""
    text = os.environ.get(SETTINGS_ENV)
    if not text:
        return {}
    try:
        values = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{SETTINGS_ENV} must be a JSON object of Scrapy settings: {exc}") from exc
    if not isinstance(values, dict):
        raise ValueError(f"{SETTINGS_ENV} must be a JSON object of Scrapy settings")
    return values


def scrapy_settings(replay: bool) -> Settings:
    """crawlers/settings.py; without delays or retries when replaying from our own server."""
    settings = Settings()
    settings.setmodule("crawlers.settings", priority="project")
    if replay:
        # The replay origin is our own server on this machine, not a site to be polite to.
        settings.set("DOWNLOAD_DELAY", 0)
        settings.set("AUTOTHROTTLE_ENABLED", False)
        settings.set("RETRY_TIMES", 0)
    settings.setdict(env_overrides(), priority="cmdline")
    return settings
