"""Named points inside the nightly stages, announced on stdout; tests kill a run at each one."""

from __future__ import annotations

import os
import sys
import time

# CONGVU_PAUSE_AT=<stage> makes the run wait at that point so a test can kill it there.
PAUSE_ENV = "CONGVU_PAUSE_AT"


def checkpoint(stage: str) -> None:
    """Announce that the run is inside stage; pause there when CONGVU_PAUSE_AT names it."""
    print(f"stage: {stage}", flush=True)
    if os.environ.get(PAUSE_ENV) == stage:
        print(f"paused at {stage}", flush=True)
        sys.stdout.flush()
        time.sleep(600)
