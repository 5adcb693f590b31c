"""Crawler nodes sharing one frontier in Redis: real `congvu crawl --frontier` processes, a real
redis-server and a local HTTP server that records which node asked for what, and when.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_congvu
from tests.test_crawl_robustness import Reply, Server, good

SITES = ["ba", "bon", "nam", "sau"]
ARTICLES = 5  # per listing page; two listing pages a site
PROFILE = """\
name: {name}
base_url: https://{name}.test
domains: [{name}.test]
discovery:
  listings:
    - url: https://{name}.test/tin-tuc/
      pages: 2
      next_page: https://{name}.test/tin-tuc/trang-{{page}}/
article_url: '^https://{name}\\.test/bai/[a-z0-9-]+-\\d+\\.html$'
fields:
  title: [{{css: h1.tieu-de}}]
  body: [{{css: "div.noi-dung > p"}}]
  published_at: [{{meta: "article:published_time"}}]
"""
LATENCY_S = 0.02  # every page: a site being polite to takes time
WAIT_S = 120.0  # the most a held page or a node starting waits (a bound for a loaded machine)


def on_ci() -> bool:
    """True on CI, where the cluster extra and redis-server must be present."""
    return os.environ.get("CI", "").lower() == "true"


def need(ok: bool, message: str) -> None:
    """Skip when a cluster part is missing; fail instead on CI."""
    if not ok:
        if on_ci():
            pytest.fail(f"{message} (CI=true: it must be installed)", pytrace=False)
        pytest.skip(message)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server of a test's own in a folder, on a free port, writing every change to disk
    (as a frontier's Redis should: a restart keeps the queues)."""

    def __init__(self, binary: str, folder: Path) -> None:
        port = free_port()
        self.url = f"redis://127.0.0.1:{port}/0"
        self.command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(folder)]
        self.command += ["--save", "", "--appendonly", "yes", "--appendfsync", "always"]
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Start it and wait until it answers."""
        import redis

        self.process = subprocess.Popen(
            self.command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )
        client = redis.Redis.from_url(self.url)
        for _ in range(200):
            try:
                client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        pytest.fail("redis-server did not answer")

    def stop(self) -> None:
        """Stop it (SIGTERM: it writes its data out first)."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own in a temporary folder; stopped afterwards."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    need(os.access(binary, os.X_OK), "redis-server not installed (apt-get install redis-server)")
    try:
        import redis  # noqa: F401
        import scrapy_redis  # noqa: F401
    except ImportError as exc:
        need(False, f"the cluster extra is not installed ({exc}): pip install -e '.[cluster]'")
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(binary, folder)
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of a redis-server of the test's own."""
    return redis_server.url


def listing(site: str, page: int) -> bytes:
    """A listing page of site linking its articles."""
    links = "".join(
        f'<a href="https://{site}.test/bai/tin-{n}.html">Tin {n}</a>'
        for n in range(page * 100, page * 100 + ARTICLES)
    )
    return f"<html><body>{links}</body></html>".encode()


def article_paths(site: str) -> list[str]:
    """The paths of site's articles on the local server."""
    pages = (1, 2)
    return [f"/{site}/bai/tin-{n}.html" for p in pages for n in range(p * 100, p * 100 + ARTICLES)]


def slow(reply: Reply):  # noqa: ANN201 - a route: a function of the request number
    """The reply, after the page latency."""

    def route(number: int) -> Reply:
        time.sleep(LATENCY_S)
        return reply

    return route


def news_server() -> Server:
    """The sites' listings (two pages each) and articles."""
    server = Server()
    server.add("/robots.txt", Reply(200, {"Content-Type": "text/plain"}, b"User-agent: *\n"))
    for site in SITES:
        server.add(f"/{site}/tin-tuc/", slow(Reply(200, None, listing(site, 1))))
        server.add(f"/{site}/tin-tuc/trang-2/", slow(Reply(200, None, listing(site, 2))))
        for path in article_paths(site):
            server.add(path, slow(good(f"Bài {path}")))
    return server


def holding() -> tuple[Server, str, threading.Event]:
    """The news server; the path of a page of the first site it answers once the event is set."""
    server = news_server()
    stuck = article_paths(SITES[0])[3]
    plain = server.routes[stuck]
    release = threading.Event()

    def held(number: int) -> Reply:
        release.wait(WAIT_S)
        return plain(number)

    server.add(stuck, held)
    return server, stuck, release


@pytest.fixture
def nodes() -> Iterator[list[subprocess.Popen]]:
    """The node processes a test starts; any still running at its end is killed."""
    started: list[subprocess.Popen] = []
    yield started
    for node in started:
        if node.poll() is None:
            node.kill()
            node.communicate()


def start_node(
    nodes: list[subprocess.Popen],
    name: str,
    tmp_path: Path,
    origin: str,
    frontier: str,
    cpu: int,
    command_name: str = "crawl",
    lease_s: float = 60,
) -> subprocess.Popen:
    """A `congvu crawl --frontier` node (or nightly) on one CPU, naming itself in its user agent."""
    profiles = []
    for site in SITES:
        path = tmp_path / f"{site}.yaml"
        path.write_text(PROFILE.format(name=site), encoding="utf-8")
        profiles += ["--profile", str(path)]
    settings = {
        "USER_AGENT": f"congvu-test {name}",
        "CONGVU_FRONTIER_LEASE": lease_s,
        "CONGVU_FRONTIER_SITES": 1,  # one site at a time, so both nodes get some
        "DOWNLOAD_TIMEOUT": WAIT_S + 10,
    }
    # CONGVU_NODE: the node's name in its run ids when the nodes share one store.
    env = {**os.environ, "CONGVU_SCRAPY_SETTINGS": json.dumps(settings), "CONGVU_NODE": name}
    command = [str(Path(sys.executable).with_name("congvu")), command_name, *profiles]
    command += ["--origin", f"{origin}/{{site}}", "--frontier", frontier]
    command += ["--data-dir", str(tmp_path / name)]
    # One core each: the node runs in this one process, so killing it kills the node.
    node = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, {cpu}),
    )
    nodes.append(node)
    return node


def cpus() -> tuple[int, int]:
    """Two CPUs to pin the nodes to (the same one twice on a one-core machine)."""
    available = sorted(os.sched_getaffinity(0))
    return available[0], available[-1]


def at_held_page(
    nodes: list[subprocess.Popen],
    tmp_path: Path,
    origin: str,
    frontier: str,
    server: Server,
    stuck: str,
    lease_s: float,
) -> subprocess.Popen:
    """Node a, started and waiting for the held page at path stuck."""
    node = start_node(nodes, "a", tmp_path, origin, frontier, cpus()[0], lease_s=lease_s)
    wait_for(lambda: server.hits_of(stuck), "the node to fetch the held page")
    return node


def node_of(headers: dict[str, str]) -> str:
    """The node a request came from, by the user agent each node was given."""
    return headers.get("User-Agent", "").removeprefix("congvu-test ")


def staged(tmp_path: Path, nodes: list[str]) -> Counter[str]:
    """How many times each article URL was staged, over the nodes' data folders."""
    counts: Counter[str] = Counter()
    for node in nodes:
        for path in (tmp_path / node / "staging").glob("*/*.jsonl"):
            for line in path.read_text(encoding="utf-8").splitlines():
                counts[json.loads(line)["url"]] += 1
    return counts


def staged_in(run_dir: Path, every: bool = False) -> Any:
    """The article URLs a run's staging folder holds (every line's, with every=True)."""
    urls = [
        json.loads(line)["url"]
        for path in run_dir.glob("*.jsonl")
        for line in path.read_text(encoding="utf-8").splitlines()
    ]
    return urls if every else set(urls)


def all_article_urls() -> set[str]:
    """The public URLs of every article of every site."""
    return {
        f"https://{site}.test{path.removeprefix('/' + site)}"
        for site in SITES
        for path in article_paths(site)
    }


def wait_for(condition, what: str) -> None:  # noqa: ANN001
    """Poll condition until true; fail after WAIT_S."""
    deadline = time.monotonic() + WAIT_S
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"waited {WAIT_S} s for {what}")
        time.sleep(0.05)


def finish(node: subprocess.Popen) -> str:
    """The node's output once it has exited; it must succeed (and is killed after WAIT_S)."""
    try:
        output, _ = node.communicate(timeout=WAIT_S)
    except subprocess.TimeoutExpired:
        node.kill()
        output, _ = node.communicate()
        pytest.fail(f"the node still ran after {WAIT_S} s; it printed:\n{output}")
    assert node.returncode == 0, output
    return output


def test_two_nodes_fetch_each_url_once_and_each_site_from_one_node(
    redis_url: str, tmp_path: Path, nodes: list[subprocess.Popen]
) -> None:
    server = news_server()
    # The first node's first page waits until the second node has fetched something, so that
    # both are crawling at once whatever the machine's speed.
    second_started = threading.Event()
    first_listing = f"/{SITES[0]}/tin-tuc/"
    plain = server.routes[first_listing]

    def held(number: int) -> Reply:
        second_started.wait(WAIT_S)
        return plain(number)

    server.add(first_listing, held)
    with server.serve() as origin:
        cpu_a, cpu_b = cpus()
        first = start_node(nodes, "a", tmp_path, origin, redis_url, cpu_a)
        wait_for(lambda: server.hits_of(first_listing), "node a's first page")
        second = start_node(nodes, "b", tmp_path, origin, redis_url, cpu_b)
        wait_for(lambda: any(node_of(h.headers) == "b" for h in server.hits), "node b")
        second_started.set()
        outputs = finish(first) + finish(second)

    pages = [hit for hit in server.hits if hit.path != "/robots.txt"]  # each node reads robots
    fetched = Counter(hit.path for hit in pages)
    assert len(fetched) == len(SITES) * (2 + 2 * ARTICLES), fetched
    assert set(fetched.values()) == {1}, [path for path, n in fetched.items() if n > 1]
    by_site: dict[str, set[str]] = {}
    for hit in pages:
        by_site.setdefault(hit.path.split("/")[1], set()).add(node_of(hit.headers))
    assert all(len(nodes) == 1 for nodes in by_site.values()), by_site
    assert {node for nodes in by_site.values() for node in nodes} == {"a", "b"}, by_site
    counts = staged(tmp_path, ["a", "b"])
    assert set(counts) == all_article_urls()
    assert set(counts.values()) == {1}
    assert "crawled by other nodes" in outputs  # each node names the sites it left to the other


def test_a_killed_node_s_site_is_finished_by_the_other_each_page_staged_once(
    redis_url: str, tmp_path: Path, nodes: list[subprocess.Popen]
) -> None:
    server = news_server()
    site = SITES[0]
    stuck = article_paths(site)[3]  # node a is killed while fetching this page
    plain = server.routes[stuck]
    release = threading.Event()

    def held(number: int) -> Reply:
        if number == 1:
            release.wait(WAIT_S)
        return plain(number)

    server.add(stuck, held)
    with server.serve() as origin:
        cpu_a, cpu_b = cpus()
        # A lease short enough to lapse soon after the kill, long enough not to while a lives.
        first = start_node(nodes, "a", tmp_path, origin, redis_url, cpu_a, lease_s=6)
        wait_for(lambda: server.hits_of(stuck), "node a to fetch the held page")
        second = start_node(nodes, "b", tmp_path, origin, redis_url, cpu_b, lease_s=6)
        wait_for(lambda: any(node_of(h.headers) == "b" for h in server.hits), "node b")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        killed_at = time.monotonic()
        release.set()
        finish(second)

    pages = [hit for hit in server.hits if hit.path != "/robots.txt"]
    site_hits = [hit for hit in pages if hit.path.startswith(f"/{site}/")]
    last_a = max(hit.at for hit in site_hits if node_of(hit.headers) == "a")
    b_hits = [hit for hit in site_hits if node_of(hit.headers) == "b"]
    assert b_hits, "node b never resumed the site node a was killed on"
    assert all(last_a < hit.at for hit in b_hits)  # never both on the site at once
    assert all(hit.at > killed_at for hit in b_hits)  # b waited for a's lease to lapse
    fetched = Counter(hit.path for hit in pages)
    # The page a was killed on is fetched again by b; nothing else twice, nothing missing.
    assert fetched[stuck] == 2
    assert {path for path, n in fetched.items() if n != 1} == {stuck}
    assert len(fetched) == len(SITES) * (2 + 2 * ARTICLES)
    counts = staged(tmp_path, ["a", "b"])
    assert set(counts) == all_article_urls()
    assert set(counts.values()) == {1}


def test_an_unreachable_frontier_is_a_clear_error(tmp_path: Path) -> None:
    need(shutil.which("redis-server") is not None or on_ci(), "redis-server not installed")
    profile = tmp_path / "ba.yaml"
    profile.write_text(PROFILE.format(name="ba"), encoding="utf-8")
    port = free_port()  # nothing listens there
    url = f"redis://:geheim@127.0.0.1:{port}/0"
    result = run_congvu(
        "crawl", "--profile", str(profile), "--frontier", url, "--data-dir", str(tmp_path / "d")
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"frontier redis://:***@127.0.0.1:{port}/0 unusable" in result.stderr
    assert "geheim" not in result.stdout + result.stderr


def test_a_node_that_loses_the_frontier_stops_clearly_and_its_rerun_finishes(
    redis_server: RedisServer, tmp_path: Path, nodes: list[subprocess.Popen]
) -> None:
    server, stuck, release = holding()
    with server.serve() as origin:
        # The rerun waits for the dead run's lease to lapse: a short one.
        node = at_held_page(nodes, tmp_path, origin, redis_server.url, server, stuck, 3)
        redis_server.stop()
        release.set()
        output, _ = node.communicate(timeout=120)
        assert node.returncode == 2, output
        assert "the shared frontier failed" in output
        redis_server.start()  # back with its data: the rerun resumes the site
        rerun = start_node(nodes, "a", tmp_path, origin, redis_server.url, cpus()[0], lease_s=3)
        finish(rerun)

    first, second = sorted((tmp_path / "a" / "staging").iterdir())
    counts = staged(tmp_path, ["a"])  # both runs' staging folders
    assert set(counts) == all_article_urls()  # nothing lost
    # A page the first run staged after Redis went could not be marked done: the rerun fetches
    # it again (the load keeps one copy, by canonical URL). Nothing else is staged twice.
    again = {url for url, n in counts.items() if n > 1}
    assert set(counts.values()) <= {1, 2}
    assert again <= staged_in(first)
    assert Counter(staged_in(second, every=True)).most_common(1)[0][1] == 1


def two_nightly_nodes(nodes: list[subprocess.Popen], tmp_path: Path, redis_url: str) -> list[str]:
    """Run `congvu nightly --frontier` nodes a and b on the news server to the end; outputs."""
    server = news_server()
    with server.serve() as origin:
        cpu_a, cpu_b = cpus()
        for name, cpu in (("a", cpu_a), ("b", cpu_b)):
            start_node(nodes, name, tmp_path, origin, redis_url, cpu, "nightly")
        return [finish(node) for node in nodes]


def test_two_nightly_nodes_store_each_article_once_between_them(
    redis_url: str, tmp_path: Path, nodes: list[subprocess.Popen]
) -> None:
    import duckdb

    outputs = two_nightly_nodes(nodes, tmp_path, redis_url)

    stored: Counter[str] = Counter()
    for name in ("a", "b"):
        with duckdb.connect(str(tmp_path / name / "congvu.duckdb"), read_only=True) as con:
            stored.update(url for (url,) in con.execute("SELECT url FROM articles").fetchall())
    assert set(stored) == all_article_urls()
    assert set(stored.values()) == {1}
    assert all("status: ok" in output for output in outputs), outputs


def test_two_nightly_nodes_on_one_frontier_write_one_shared_store(
    lake: str, redis_url: str, tmp_path: Path, nodes: list[subprocess.Popen]
) -> None:
    from pipelines.store import open_db

    outputs = two_nightly_nodes(nodes, tmp_path, redis_url)

    with open_db(tmp_path / "unused", read_only=True) as con:  # the lake, as a notebook opens it
        urls = Counter(url for (url,) in con.execute("SELECT url FROM articles").fetchall())
        labels = con.execute(
            "SELECT count(*), count(DISTINCT article_id) FROM classifications"
        ).fetchone()
        runs = con.execute("SELECT run_id, status FROM crawl_runs ORDER BY run_id").fetchall()
        crawled = con.execute("SELECT site, count(*) FROM crawl_run_sites GROUP BY site").fetchall()
    assert set(urls) == all_article_urls()
    assert set(urls.values()) == {1}
    assert labels == (len(urls), len(urls))
    assert sorted((run_id.rsplit("-", 1)[1], status) for run_id, status in runs) == [
        ("a", "ok"),
        ("b", "ok"),
    ]
    assert sorted(crawled) == sorted((site, 1) for site in SITES)  # each site by one node
    assert all("status: ok" in output for output in outputs), outputs


def test_a_stopped_node_gives_its_site_back_at_once(
    redis_server: RedisServer, tmp_path: Path, nodes: list[subprocess.Popen]
) -> None:
    import redis

    site = SITES[0]
    server, stuck, release = holding()
    client = redis.Redis.from_url(redis_server.url)
    with server.serve() as origin:
        # A lease far longer than the test: gone at the end only if the node released it.
        node = at_held_page(nodes, tmp_path, origin, redis_server.url, server, stuck, 600)
        node.send_signal(signal.SIGTERM)  # as systemd or Ctrl-C stops it
        release.set()
        node.communicate(timeout=120)
        assert client.keys("congvu:*:lease") == []
        others = [h.path for h in server.hits if not h.path.startswith((f"/{site}/", "/robots"))]
        assert others == []  # stopping, it took no other site
        finish(start_node(nodes, "a", tmp_path, origin, redis_server.url, cpus()[0]))

    counts = staged(tmp_path, ["a"])
    assert set(counts) == all_article_urls()
    assert set(counts.values()) == {1}


def test_a_node_stalled_past_its_lease_takes_its_site_back_and_finishes(
    redis_server: RedisServer, tmp_path: Path, nodes: list[subprocess.Popen]
) -> None:
    server, stuck, release = holding()
    with server.serve() as origin:
        node = at_held_page(nodes, tmp_path, origin, redis_server.url, server, stuck, 2)
        node.send_signal(signal.SIGSTOP)  # a machine stalled (swapping, suspended VM)
        time.sleep(4)  # past the lease: no other node takes the site, but the lease has gone
        node.send_signal(signal.SIGCONT)
        logs = tmp_path / "a" / "logs"
        lapsed = "lease on ba lapsed"
        wait_for(
            lambda: any(lapsed in log.read_text(encoding="utf-8") for log in logs.glob("*.log")),
            "the node to notice its lease lapsed",
        )
        release.set()
        output = finish(node)  # once hung: the stopped crawl was taken for a Ctrl-C

    ba = next(line for line in output.splitlines() if line.startswith("ba "))
    assert ba.split()[1:4] == ["ok", "10", "articles"], output
    counts = staged(tmp_path, ["a"])
    assert set(counts) == all_article_urls()
    assert set(counts.values()) == {1}
