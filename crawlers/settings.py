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
# Each site's crawl time budget: a site that answers slowly stops taking new pages after an hour
# (those in flight finish), so it cannot hold the night; what it gave is kept, and the links it
# did not reach are found again by the next night's discovery (the run summary says so).
CLOSESPIDER_TIMEOUT = 3600
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
# Retries wait 2 s, then 4 s... (at most 60 s); a Retry-After up to 5 minutes is obeyed.
RETRY_BACKOFF_BASE = 2.0
RETRY_BACKOFF_MAX = 60.0
RETRY_AFTER_MAX = 300.0
DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.retry.RetryMiddleware": None,
    "crawlers.middlewares.PoliteRetryMiddleware": 550,
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": None,
    "crawlers.middlewares.QuickMetaRefreshMiddleware": 580,
}
# Every response is untrusted: the size cap also bounds gzip/deflate/br decompression.
DOWNLOAD_MAXSIZE = 10 * 1024 * 1024
DOWNLOAD_WARNSIZE = 4 * 1024 * 1024
REDIRECT_MAX_TIMES = 5

# Incremental crawling: without --since, sitemap entries older than this many days are skipped;
# with --since, listings are paged back until their entries are older (at most this many pages).
CONGVU_SITEMAP_DAYS = 3
CONGVU_BACKFILL_MAX_PAGES = 200
CONGVU_MAX_SITEMAPS = 50
COOKIES_ENABLED = False
TELNETCONSOLE_ENABLED = False
# Scrapy 2.19's remote control runs code sent over HTTP: never on a machine left running nightly.
REMOTE_CONTROL_ENABLED = False

# An article page gives one item: Scrapy's default of 100 parallel workers per response is waste.
CONCURRENT_ITEMS = 8
# Scrapy's check for generator callbacks that return a value reads and parses the callback's
# source on every response (its cache misses bound methods): about 1 ms a page, for a warning
# about our own code that the tests already cover.
WARN_ON_GENERATOR_RETURN_VALUE = False

FEED_EXPORT_ENCODING = "utf-8"
LOG_LEVEL = "INFO"

# A shared frontier (`--frontier`): a site's lease lapses this many seconds after its node last
# renewed it (every second while it crawls; a node that dies gives the site up when it lapses,
# so it must outlast any stall of a busy node), and a node crawls at most this many sites at
# once, so that nodes started together share the sites.
CONGVU_FRONTIER_LEASE = 60
CONGVU_FRONTIER_SITES = 16
