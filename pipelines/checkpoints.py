"""Named points inside the nightly stages where a test can stop a run to kill it there."""

from __future__ import annotations

import os
import time

# CONGVU_PAUSE_AT=<stage> makes the run wait at that point so a test can kill it there.
PAUSE_ENV = "CONGVU_PAUSE_AT"


def checkpoint(stage: str) -> None:
    """Pause at stage when CONGVU_PAUSE_AT names it, saying so; otherwise do nothing."""
    if os.environ.get(PAUSE_ENV) == stage:
        print(f"paused at {stage}", flush=True)
        time.sleep(600)
