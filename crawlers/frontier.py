"""A crawl frontier in Redis shared by crawler nodes: scrapy-redis's queue and seen-set per site,
each request kept in flight until it is done, and a lease per site so one node fetches it at a time.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import redis
from scrapy import Request, Spider
from scrapy_redis.scheduler import Scheduler

from crawlers.dates import VN_TZ

# A round's keys outlive their last write by this long: a rerun within it resumes, then they go.
ROUND_TTL_S = 3 * 24 * 3600

# The request at the head of a site's queue moves to its in-flight set in one step: a node that
# dies in between cannot lose it.
TAKE = """
local top = redis.call('ZPOPMIN', KEYS[1])
if #top == 0 then return false end
redis.call('ZADD', KEYS[2], top[2], top[1])
return top[1]
"""
# Mark a request seen and queue it in one step (ARGV: fingerprint, score, dont_filter, request).
ENQUEUE = """
if ARGV[3] == '1' or redis.call('SADD', KEYS[1], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[4])
  return 1
end
return 0
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
# A site is marked done only by the node still holding its lease, and the lease goes with it.
FINISH = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[3])
return redis.call('DEL', KEYS[1])
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class FrontierError(RuntimeError):
    """The shared frontier cannot be used (Redis unreachable, or refusing a command)."""


def shown(url: str) -> str:
    """The frontier's URL as logs and messages show it: without its password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rpartition("@")[2]
    user = f"{parts.username}:***@" if parts.username else ":***@"
    return urlunsplit(parts._replace(netloc=user + netloc))


def connect(url: str) -> redis.Redis:
    """A client of the frontier's Redis, checked to answer."""
    try:
        server = redis.Redis.from_url(url, socket_timeout=30, socket_connect_timeout=10)
        server.ping()
    except (redis.RedisError, ValueError) as exc:
        raise FrontierError(f"frontier {shown(url)} unusable: {exc}") from exc
    return server


def node_id() -> str:
    """This crawler process as lease holders are named: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def round_name(urls: list[str] | None, since: datetime | None, origin: str | None) -> str:
    """The crawl round nodes share: the day in Vietnam and what is crawled.

    Nodes started the same day for the same crawl meet in one round; a rerun that day resumes it
    and fetches nothing another node has finished.
    """
    day = datetime.now(VN_TZ).date().isoformat()
    what = json.dumps([sorted(urls or []), since.isoformat() if since else None, origin])
    return f"{day}-{hashlib.sha256(what.encode()).hexdigest()[:8]}"


def frontier_settings(url: str, round_: str) -> dict[str, Any]:
    """Scrapy settings that put a crawl's scheduler and seen-set on the shared frontier."""
    prefix = f"congvu:{round_}:%(spider)s"  # a spider is named after its site
    return {
        "CONGVU_FRONTIER": url,
        "CONGVU_FRONTIER_ROUND": round_,
        "SCHEDULER": FrontierScheduler,
        "SCHEDULER_QUEUE_CLASS": "scrapy_redis.queue.PriorityQueue",
        "SCHEDULER_QUEUE_KEY": f"{prefix}:requests",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "SCHEDULER_DUPEFILTER_KEY": f"{prefix}:seen",
        "SCHEDULER_PERSIST": True,  # the queue and seen-set outlive the node: another resumes
        "REDIS_URL": url,
    }


class Frontier:
    """One round of the shared frontier as a node sees it: site leases and sites done."""

    def __init__(self, url: str, round_: str, node: str, lease_s: float) -> None:
        self.server = connect(url)
        self.url = url
        self.prefix = f"congvu:{round_}"
        self.node = node
        self.lease_ms = int(lease_s * 1000)

    def lease_key(self, site: str) -> str:
        """The key a site's lease is held under."""
        return f"{self.prefix}:{site}:lease"

    def done(self, site: str) -> str | None:
        """The node that finished site in this round, or None."""
        value = self.server.hget(f"{self.prefix}:done", site)
        return value.decode() if value is not None else None

    def take(self, site: str) -> bool:
        """Take the site's lease if no node holds it."""
        return bool(self.server.set(self.lease_key(site), self.node, nx=True, px=self.lease_ms))

    def renew(self, site: str) -> bool:
        """Extend this node's lease on site; False when it has lapsed to another node."""
        return bool(self.server.eval(RENEW, 1, self.lease_key(site), self.node, self.lease_ms))

    def finish(self, site: str) -> bool:
        """Mark site done in this round and release its lease, if this node still holds it."""
        keys = (self.lease_key(site), f"{self.prefix}:done")
        return bool(self.server.eval(FINISH, 2, *keys, self.node, site, ROUND_TTL_S))

    def release(self, site: str) -> None:
        """Let another node take the site (its queue and requests in flight stay)."""
        self.server.eval(RELEASE, 1, self.lease_key(site), self.node)


class FrontierScheduler(Scheduler):
    """scrapy-redis's scheduler, keeping each request it hands out in flight until it is done.

    scrapy-redis pops a request off the queue when the engine asks for it: a node killed while
    fetching or staging it would lose it, as its fingerprint is already in the seen-set. Here it
    moves to the site's in-flight set instead, leaves it once the engine is through with it
    (downloaded, parsed, its article staged, the requests it led to queued), and the next node to
    open the site puts whatever is left there back in the queue.
    """

    def open(self, spider: Spider) -> None:
        """Open the queue and seen-set, taking back the requests a dead node left in flight."""
        super().open(spider)
        self.inflight = f"{self.queue.key}:inflight"
        self.taken: dict[Request, bytes] = {}
        pipe = self.server.pipeline(transaction=True)
        pipe.zcard(self.inflight).exists(self.df.key)
        pipe.zunionstore(self.queue.key, [self.queue.key, self.inflight], aggregate="MIN")
        pipe.delete(self.inflight)
        requeued, seen = pipe.execute()[:2]
        if seen and self.stats is not None:
            self.stats.set_value("congvu/frontier/resumed", 1)
            self.stats.set_value("congvu/frontier/requeued", requeued)
        # Scrapy says when it is done with a request only to its engine's slot; its engine has
        # no signal for it, so the slot's bookkeeping call is where the request is let go.
        slot = spider.crawler.engine._slot
        remove_request = slot.remove_request

        def finished(request: Request) -> None:
            remove_request(request)
            data = self.taken.pop(request, None)
            if data is not None:
                self.server.zrem(self.inflight, data)

        slot.remove_request = finished

    def close(self, reason: str) -> None:
        """Leave the site's keys to expire with the round (its queue is empty when finished)."""
        super().close(reason)
        pipe = self.server.pipeline(transaction=False)
        for key in (self.queue.key, self.df.key, self.inflight):
            pipe.expire(key, ROUND_TTL_S)
        pipe.execute()

    def enqueue_request(self, request: Request) -> bool:
        """Mark a request seen and queue it atomically (scrapy-redis does it in two calls).

        A frontier lost between scrapy-redis's two calls left the request seen but never queued:
        the rerun fetched the page that led to it again and dropped the link as a duplicate.
        """
        added = self.server.eval(
            ENQUEUE,
            2,
            self.df.key,
            self.queue.key,
            self.df.request_fingerprint(request),
            -request.priority,
            int(request.dont_filter),
            self.queue._encode_request(request),
        )
        if not added:
            self.df.log(request, self.spider)
            return False
        if self.stats is not None:
            self.stats.inc_value("scheduler/enqueued/redis", spider=self.spider)
        return True

    def next_request(self) -> Request | None:
        """The next request of the site, moved from its queue to its in-flight set."""
        data = self.server.eval(TAKE, 2, self.queue.key, self.inflight)
        if data is None:
            return None
        request = self.queue._decode_request(data)
        self.taken[request] = data
        if self.stats is not None:
            self.stats.inc_value("scheduler/dequeued/redis")
        return request
