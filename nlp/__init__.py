"""Vietnamese text processing and the praise / criticism / neutral classifiers."""

import sys

# underthesea imports its translation, dependency-parsing and agent pipelines eagerly, and with
# them transformers and torch (about 4 s per process, every `congvu` command). congvu uses none
# of the three; marking them absent makes underthesea skip them (it tolerates the ImportError).
for _module in (
    "underthesea.pipeline.translate",
    "underthesea.pipeline.dependency_parse",
    "underthesea.agent",
):
    sys.modules.setdefault(_module, None)  # type: ignore[arg-type]
