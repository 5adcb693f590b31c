"""Scrapy settings for the congvu crawlers: polite by default, as plain constants."""

import os

BOT_NAME = "congvu"
SPIDER_MODULES = ["crawlers.spiders"]
NEWSPIDER_MODULE = "crawlers.spiders"

# Identify ourselves with a contact address so a site's webmaster can reach the department.
CONTACT = os.environ.get("CONGVU_CONTACT", "congvu-operator@localhost")
USER_AGENT = f"congvu/0.1 (Vietnamese news monitoring; +mailto:{CONTACT})"

ROBOTSTXT_OBEY = True
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 1.0
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 1.0
AUTOTHROTTLE_MAX_DELAY = 30.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0

DOWNLOAD_TIMEOUT = 30
RETRY_ENABLED = True
RETRY_TIMES = 2
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control runs code sent over HTTP: never on a machine left running nightly.
REMOTE_CONTROL_ENABLED = False

ITEM_PIPELINES = {"pipelines.staging.StagingPipeline": 500}

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"
