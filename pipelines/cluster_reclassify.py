"""Reclassify on a Ray cluster: articles out as Parquet, labels back as Parquet, one short load.

The store is read once (the articles the model has not labelled, exported with DuckDB COPY) and
written once (the labels, through save_classifications); neither the database nor the run lock
is held while Ray classifies, so the nightly job keeps running meanwhile. Every labels file is
complete (written, then renamed) before anything loads it, and a run first loads the files a
killed run left, so a killed run and a rerun label every article once.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from nlp.classify import Classifier, load_classifier, read_model_config, resolve_model
from nlp.progress import Progress
from pipelines.checkpoints import checkpoint
from pipelines.classifications import (
    PROGRESS_EVERY,
    UNCLASSIFIED,
    classify_frame,
    save_classifications,
)
from pipelines.lock import RunLocked, run_lock
from pipelines.paths import DataPaths, utc_stamp
from pipelines.snapshot import adopt, writing
from pipelines.sql import literal
from pipelines.store import open_db

BATCH = PROGRESS_EVERY  # articles per actor call, per labels file and per progress line
EXPORT_FILE_BYTES = "32MB"  # export files this large: a read task holds one in memory
LOAD_FILES = 100  # labels files per insert: bounds the load's memory on a large archive
GPU_KINDS = {"transformer"}  # model kinds that run on a GPU when the cluster has one
# The labels files' columns: those of classify_frame, and the hash of the text classified.
LABELS_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("model_id", pa.string()),
        ("label", pa.string()),
        ("score_praise", pa.float64()),
        ("score_criticism", pa.float64()),
        ("score_neutral", pa.float64()),
        ("evidence", pa.list_(pa.string())),
        ("reason", pa.string()),
        ("analysed_chars", pa.int64()),
        ("content_hash", pa.string()),
    ]
)


class Labeller:
    """A Ray actor: loads the model once, then labels batches of articles with classify_frame."""

    def __init__(self, model: str, trusted: bool) -> None:
        """Load the model (an id or an absolute folder every node can read)."""
        self.classifier = load_classifier(model, trusted=trusted)

    def __call__(self, batch: pd.DataFrame) -> pa.Table:
        """Labels rows of a batch of article_id, content_hash, text, as LABELS_SCHEMA."""
        rows = classify_frame(self.classifier, batch)
        rows["content_hash"] = batch["content_hash"].to_numpy()  # classify_frame keeps order
        return pa.Table.from_pandas(rows, schema=LABELS_SCHEMA, preserve_index=False)


def work_dir(paths: DataPaths, model_id: str) -> Path:
    """The model's batch folder: articles/ (the export) and labels/ (what Ray wrote)."""
    return paths.reclassify / re.sub(r"[^A-Za-z0-9_-]", "_", model_id)  # never .. or a slash


def reclassify_on_ray(
    paths: DataPaths,
    classifier: Classifier,
    model: str | None,
    trusted: bool,
    address: str | None,
    wait_s: float,
) -> int:
    """Label the stored articles this model has not labelled, on Ray; the rows added.

    address goes to ray.init: None (RAY_ADDRESS, else a cluster running here, else a new local
    one), "local", "auto" or HOST:PORT; this machine must be a node of the cluster.
    """
    if address and address.startswith("ray://"):
        # Ray Data runs its executor in the driver, which Ray Client (ray://) does not support.
        raise ValueError(
            f"--ray {address}: Ray Data does not run through Ray Client; make this machine (the "
            "one with the data folder) a node of the cluster (ray start --address HEAD:6379) "
            "and pass --ray auto"
        )
    model_dir = resolve_model(model or classifier.model_id).resolve()
    work = work_dir(paths, classifier.model_id)
    with run_lock(work / "batch.lock", f"ray reclassify {classifier.model_id}"):
        added = load_labels(paths, work, classifier.model_id, wait_s)  # a killed run's files
        todo = export_unlabelled(paths, work, classifier.model_id, wait_s)
        if todo:
            with ray_session(address):
                gpu = read_model_config(model_dir)["kind"] in GPU_KINDS
                label_on_ray(work, str(model_dir), trusted, classifier.model_id, todo, gpu)
            checkpoint("ray labelled")
            added += load_labels(paths, work, classifier.model_id, wait_s)
        shutil.rmtree(work / "articles", ignore_errors=True)
    return added


def export_unlabelled(paths: DataPaths, work: Path, model_id: str, wait_s: float) -> int:
    """Write the articles model_id has not labelled to work/articles/*.parquet; their number."""
    target = work / "articles"
    shutil.rmtree(target, ignore_errors=True)  # a killed run's export: unlabelled ones are redone
    with run_lock(paths.lock, f"reclassify {model_id}: export for Ray"):
        adopt(paths, wait_s)
        with open_db(paths.store, wait_s=wait_s) as con:
            # COPY takes no parameters: the model id goes in as a literal.
            query = UNCLASSIFIED.replace("?", literal(model_id))
            (todo,) = con.execute(f"SELECT count(*) FROM ({query})").fetchone()
            if todo:
                con.execute(
                    f"COPY ({query}) TO {literal(str(target))} "
                    f"(FORMAT parquet, FILE_SIZE_BYTES '{EXPORT_FILE_BYTES}')"
                )
    return todo


@contextmanager
def ray_session(address: str | None) -> Iterator[None]:
    """Connect to (or start) Ray unless this process already has; disconnect afterwards."""
    import ray

    if ray.is_initialized():
        yield
        return
    ray.init(address=address, logging_level=logging.WARNING, log_to_driver=False)
    try:
        yield
    finally:
        ray.shutdown()


def label_on_ray(
    work: Path, model: str, trusted: bool, model_id: str, todo: int, gpu: bool
) -> None:
    """Classify work/articles with an actor pool; write work/labels/*.parquet, each complete."""
    import ray

    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # ours are printed below
    # The planned reader: its tasks take no CPU (below), where the streaming one lists the files
    # in a task of one CPU, which waits forever once the actors hold every CPU.
    context.use_datasource_v2 = False
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its plan and timings: in Ray's logs
    resources = ray.cluster_resources()
    gpus = int(resources.get("GPU", 0)) if gpu else 0
    actors = gpus or max(1, int(resources.get("CPU", 1)))
    # Blocks of about BATCH articles, so that every actor gets work however few files there are;
    # reading is I/O, so its tasks take no CPU from the actors.
    articles = ray.data.read_parquet(
        str(work / "articles"), override_num_blocks=math.ceil(todo / BATCH), num_cpus=0
    )
    labels = articles.map_batches(
        Labeller,
        fn_constructor_kwargs={"model": model, "trusted": trusted},
        batch_size=BATCH,
        batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_cpus=1,
        num_gpus=1 if gpus else 0,
    )
    target = work / "labels"
    target.mkdir(parents=True, exist_ok=True)
    stamp = utc_stamp()
    counter = Progress(f"classified with {model_id}", math.ceil(todo / BATCH), "articles")
    done = 0
    for n, batch in enumerate(labels.iter_batches(batch_size=BATCH, batch_format="pyarrow")):
        write_complete(batch, target / f"{stamp}-{n:06d}.parquet")
        done += batch.num_rows
        counter.step(f"{done} of {todo} articles", items=batch.num_rows)


def write_complete(table: pa.Table, path: Path) -> None:
    """Write a Parquet file under a temporary name and rename it once flushed to disk."""
    partial = path.with_name(path.name + ".partial")
    pq.write_table(table.cast(LABELS_SCHEMA), partial)
    with open(partial, "rb") as written:
        os.fsync(written.fileno())
    os.replace(partial, path)


def load_labels(paths: DataPaths, work: Path, model_id: str, wait_s: float) -> int:
    """Insert the complete labels files into classifications, then delete them; rows added.

    A label whose article changed since the export (its content hash differs) is dropped: the
    article stays unlabelled and the next run labels its new text.
    """
    folder = work / "labels"
    for partial in folder.glob("*.partial"):  # a killed writer's; its batch is exported again
        partial.unlink()
    files = sorted(folder.glob("*.parquet"))
    if not files:
        return 0
    added = 0
    try:
        with (
            writing(paths, f"reclassify {model_id}: load Ray's labels", wait_s),
            open_db(paths.store, wait_s=wait_s) as con,
        ):
            for start in range(0, len(files), LOAD_FILES):
                rows = current_labels(con, files[start : start + LOAD_FILES], model_id)
                added += save_classifications(con, rows)
    except RunLocked as exc:
        raise RunLocked(f"{exc}; the labels stay in {folder}: run the command again") from exc
    for file in files:
        file.unlink()
    return added


def current_labels(
    con: duckdb.DuckDBPyConnection, files: list[Path], model_id: str
) -> pd.DataFrame:
    """The rows of labels files whose article still has the text that was classified."""
    rows = con.execute(
        """
        SELECT l.* EXCLUDE (content_hash)
        FROM read_parquet(?) l
        JOIN articles a
          ON a.article_id = l.article_id AND a.content_hash IS NOT DISTINCT FROM l.content_hash
        """,
        [[str(f) for f in files]],
    ).df()
    others = sorted(set(rows["model_id"]) - {model_id})
    if others:
        raise ValueError(
            f"labels files in {files[0].parent} are from {', '.join(others)}, not {model_id}: "
            "a node loaded another model under that name; install the same congvu and models "
            "on every node"
        )
    return rows
