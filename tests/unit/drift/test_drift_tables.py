"""Drift tables on synthetic representations with known answers."""

import torch

from loralens.drift.tables import UNDEFINED, control_rows, drift_rows, summarize


def _reps(seed: int, n: int = 40, d: int = 8, layers: int = 3) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return {
        f"{p}.layer_{i}": torch.randn(n, d, generator=g) + 5.0
        for p in ("mean", "last")
        for i in range(layers)
    }


def test_identical_snapshot_has_zero_drift_and_random_has_large() -> None:
    base = _reps(0)
    rows = drift_rows(base, [(0, False, base), (10, True, _reps(1))], with_ci=True)
    step0 = [r for r in rows if r["step"] == 0]
    assert all(abs(r["cka"] - 1) < 1e-12 and abs(r["drift"]) < 1e-12 for r in step0)
    assert all(abs(r["cosine"] - 1) < 1e-9 and r["procrustes"] < 1e-9 for r in step0)
    final = [r for r in rows if r["step"] == 10]
    assert all(r["drift"] > 0.3 for r in final)  # independent data: CKA far from 1
    assert all(r["cka_ci"][0] <= r["cka"] <= r["cka_ci"][1] for r in final)
    assert all(r["cka_ci"] == [None, None] for r in step0)  # CIs on the selected model only


def test_orthogonal_rotation_keeps_cka_but_not_cosine() -> None:
    base = _reps(0)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(3)))
    rotated = {k: v @ q for k, v in base.items()}
    rows = drift_rows(base, [(5, True, rotated)], with_ci=False)
    assert all(abs(r["cka"] - 1) < 1e-9 for r in rows)
    assert all(r["cosine_centered"] < 0.9 for r in rows)


def test_controls_bracket_the_scale() -> None:
    base = _reps(0, n=60)
    rows = control_rows(base, _reps(7, n=60), n_perm=30)
    for r in rows:
        assert abs(r["self_cka"] - 1) < 1e-12
        assert r["random_init_cka"] < 0.6
        assert r["permutation_cka_p95"] < 0.6


def test_constant_layer_is_reported_not_crashed() -> None:
    base = _reps(0)
    base["last.layer_0"] = torch.ones(40, 8)
    rows = drift_rows(base, [(1, True, _reps(1))], with_ci=True)
    bad = next(r for r in rows if r["pooling"] == "last" and r["layer"] == 0)
    assert bad["note"] == UNDEFINED and "drift" not in bad
    assert any(r.get("note") == UNDEFINED for r in control_rows(base, _reps(2), n_perm=5))
    summary = summarize(rows)
    last = next(s for s in summary if s["pooling"] == "last")
    assert last["layers"] == 2  # the undefined layer is left out of the mean
