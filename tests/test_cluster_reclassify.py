"""`congvu reclassify --ray` on a local Ray cluster of two nodes: the single process's labels."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from bench.reclassify import corpus_store
from nlp.classify import load_classifier
from pipelines.classifications import classify_frame
from pipelines.cluster_reclassify import BATCH, work_dir
from pipelines.enrich import ARTICLE_TEXT
from pipelines.paths import DataPaths
from pipelines.store import open_db
from tests.conftest import ROOT, import_or_skip, run_congvu

import_or_skip("ray", "ray (the cluster extra) is not installed", extra="cluster")

MODEL = "tfidf-lr-1"  # a shipped model that loads in a second and gives evidence sentences
ARTICLES = BATCH + 100  # two batches: both nodes get work
CONGVU = str(Path(sys.executable).with_name("congvu"))
LABEL_COLUMNS = (
    "article_id, model_id, label, score_praise, score_criticism, score_neutral, evidence, "
    "reason, analysed_chars"
)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    """A Ray cluster of two nodes of one CPU each on this machine; its address."""
    from ray.cluster_utils import Cluster

    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    nodes.add_node(num_cpus=1)
    nodes.wait_for_nodes()
    try:
        yield nodes.address
    finally:
        nodes.shutdown()


@pytest.fixture(scope="module")
def store(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose store holds ARTICLES real corpus articles, loaded as the crawl stages."""
    root = tmp_path_factory.mktemp("store")
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    assert corpus_store(root, corpus, ARTICLES) == ARTICLES
    return root


@pytest.fixture(scope="module")
def single(store: Path, tmp_path_factory: pytest.TempPathFactory) -> list[tuple]:
    """The labels the single-process `congvu reclassify` stores."""
    data = copy_of(store, tmp_path_factory.mktemp("single"))
    result = run_congvu("reclassify", "--data-dir", str(data), "--model", MODEL)
    assert result.returncode == 0, result.stderr
    labels = stored_labels(data)
    assert len(labels) == ARTICLES
    assert any(row[6] for row in labels), "no article with evidence: the comparison is too weak"
    return labels


def copy_of(store: Path, target: Path) -> Path:
    """A copy of a data folder."""
    shutil.copytree(store, target, dirs_exist_ok=True)
    return target


def stored_labels(data: Path) -> list[tuple]:
    """The model's stored labels, every column but the time, by article."""
    with open_db(DataPaths(data).store) as con:
        return con.execute(
            f"SELECT {LABEL_COLUMNS} FROM classifications WHERE model_id = ? ORDER BY article_id",
            [MODEL],
        ).fetchall()


def on_ray(data: Path, address: str) -> subprocess.CompletedProcess:
    """Run `congvu reclassify --ray ADDRESS` as a user would."""
    return run_congvu("reclassify", "--data-dir", str(data), "--model", MODEL, "--ray", address)


def test_ray_batch_stores_the_single_process_labels_and_a_rerun_adds_nothing(
    store: Path, single: list[tuple], cluster: str, tmp_path: Path
) -> None:
    data = copy_of(store, tmp_path / "data")
    first = on_ray(data, cluster)
    assert first.returncode == 0, first.stderr
    assert f"{ARTICLES} articles labelled with {MODEL}" in first.stdout
    assert f"classified with {MODEL} 1/2, {BATCH} of {ARTICLES} articles" in first.stderr
    assert f"classified with {MODEL} 2/2, {ARTICLES} of {ARTICLES} articles" in first.stderr
    assert stored_labels(data) == single
    again = on_ray(data, cluster)
    assert again.returncode == 0, again.stderr
    assert f"0 articles labelled with {MODEL}" in again.stdout
    assert stored_labels(data) == single
    work = work_dir(DataPaths(data), MODEL)  # nothing left to load twice
    assert sorted(p.name for p in work.rglob("*.parquet")) == []


def test_killed_before_the_load_then_rerun_labels_every_article_once(
    store: Path, single: list[tuple], cluster: str, tmp_path: Path
) -> None:
    data = copy_of(store, tmp_path / "data")
    command = [CONGVU, "reclassify", "--data-dir", str(data), "--model", MODEL, "--ray", cluster]
    env = {**os.environ, "CONGVU_PAUSE_AT": "ray labelled"}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    for line in process.stdout:
        if line.strip() == "paused at ray labelled":
            break
    else:
        raise AssertionError(f"the run ended before its labels were loaded: {process.wait()}")
    # Ray has labelled everything and holds neither the store nor the run lock: the nightly job
    # could write meanwhile, here changing one article's text, which drops the article's labels.
    changed = single[0][0]
    with open_db(DataPaths(data).store) as con:
        con.execute(
            "UPDATE articles SET title = 'Dân bức xúc vì sai phạm kéo dài', "
            "content_hash = 'changed', version = version + 1 WHERE article_id = ?",
            [changed],
        )
        con.execute("DELETE FROM classifications WHERE article_id = ?", [changed])
    process.send_signal(signal.SIGKILL)  # no cleanup runs, as after a power cut
    process.wait()
    process.stdout.close()
    assert stored_labels(data) == []
    assert len(list(work_dir(DataPaths(data), MODEL).glob("labels/*.parquet"))) == 2

    rerun = on_ray(data, cluster)
    assert rerun.returncode == 0, rerun.stderr
    # The killed run's files are loaded, less the changed article's stale label; that article,
    # exported again, is classified from its new text.
    assert f"classified with {MODEL} 1/1, 1 of 1 articles" in rerun.stderr
    assert f"{ARTICLES} articles labelled with {MODEL}" in rerun.stdout
    with open_db(DataPaths(data).store) as con:
        text = con.execute(
            f"SELECT {ARTICLE_TEXT} FROM articles a WHERE article_id = ?", [changed]
        ).fetchone()[0]
        once = con.execute(
            "SELECT count(*), count(DISTINCT article_id) FROM classifications WHERE model_id = ?",
            [MODEL],
        ).fetchone()
    frame = pd.DataFrame({"article_id": [changed], "text": [text]})
    fresh = classify_frame(load_classifier(MODEL), frame).iloc[0]
    relabelled = tuple(fresh[column] for column in LABEL_COLUMNS.split(", "))
    assert relabelled != single[0]  # the stale label would not pass for the fresh one
    assert once == (ARTICLES, ARTICLES)
    assert stored_labels(data) == [relabelled, *single[1:]]


def test_a_ray_client_address_is_refused_before_anything_is_written(
    store: Path, tmp_path: Path
) -> None:
    data = copy_of(store, tmp_path / "data")
    result = on_ray(data, "ray://127.0.0.1:10001")
    assert result.returncode == 2
    assert "Ray Data does not run through Ray Client" in result.stderr
    assert not DataPaths(data).reclassify.exists()


def test_ray_batch_on_the_shared_store_stores_the_single_process_labels(
    lake: str, shared_dir: Path, single: list[tuple], cluster: str, tmp_path: Path
) -> None:
    data = tmp_path / "node"  # a node's data folder; the articles are in the lake (CONGVU_STORE)
    corpus = shared_dir / "corpus" / "vntc-politics-law.jsonl.gz"
    assert corpus_store(data, corpus, ARTICLES) == ARTICLES
    result = on_ray(data, cluster)
    assert result.returncode == 0, result.stderr
    assert f"{ARTICLES} articles labelled with {MODEL}" in result.stdout
    assert stored_labels(data) == single
