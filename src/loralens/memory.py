"""Peak resident memory of a span of work in this process.

On Linux, writing 5 to /proc/self/clear_refs resets the kernel's high-water mark (VmHWM), so a
stage run in a shared process (the local executor, a Ray worker) reports its own peak, not that of
whatever ran before it. Elsewhere the process-lifetime peak (ru_maxrss) is all there is.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")


def reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark; False where the platform cannot."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def peak_rss_mb() -> float:
    """This process's peak RSS in MiB since the last reset (or since it started)."""
    try:
        for line in STATUS.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, else kB
