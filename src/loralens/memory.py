"""Peak resident memory of a span of work in this process.

On Linux, writing 5 to /proc/self/clear_refs resets the kernel's high-water mark (VmHWM), so a
stage run in a shared process (the local executor, a Ray worker) reports its own peak, not that of
whatever ran before it. Some kernels and sandboxes accept the write and ignore it; the reset is
then reported as failed, and the peak is the process's. Elsewhere the process-lifetime peak
(ru_maxrss) is all there is.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

CLEAR_REFS = Path("/proc/self/clear_refs")
STATUS = Path("/proc/self/status")
RESET_SLACK_MB = 16.0  # RSS other threads may add and free between the reset and the check


def _status_mb() -> dict[str, float]:
    """VmHWM and VmRSS of this process in MiB, read at one instant; empty where unavailable."""
    try:
        lines = STATUS.read_text().splitlines()
    except OSError:
        return {}
    fields = (line.split() for line in lines if line.startswith(("VmHWM:", "VmRSS:")))
    return {f[0].rstrip(":"): int(f[1]) / 1024 for f in fields}  # kB -> MiB


def reset_peak_rss() -> bool:
    """Reset this process's peak-RSS mark; False where the platform cannot or ignores it."""
    try:
        CLEAR_REFS.write_text("5")
    except OSError:
        return False
    status = _status_mb()
    if "VmHWM" not in status or "VmRSS" not in status:
        return False
    return status["VmHWM"] - status["VmRSS"] <= RESET_SLACK_MB


def peak_rss_mb() -> float:
    """This process's peak RSS in MiB since the last reset (or since it started)."""
    status = _status_mb()
    if "VmHWM" in status:
        return status["VmHWM"]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes on macOS, else kB
