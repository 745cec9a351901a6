"""Peak RSS over a span: a reset forgets an earlier, larger allocation."""

from __future__ import annotations

import numpy as np
import pytest

from loralens.memory import peak_rss_mb, reset_peak_rss


def test_reset_forgets_an_earlier_peak() -> None:
    if not reset_peak_rss():
        pytest.skip("this platform cannot reset the peak-RSS mark")
    before = peak_rss_mb()
    block = np.ones(400 * 2**20 // 8)  # 400 MiB, touched
    high = peak_rss_mb()
    del block
    assert high - before > 300
    assert reset_peak_rss()
    assert peak_rss_mb() < high - 300
