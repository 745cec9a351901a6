"""Drift tables on synthetic representations with known answers."""

import torch

from loralens.drift.tables import UNDEFINED, control_rows, drift_rows, summarize


def _reps(seed: int, n: int = 40, d: int = 8, layers: int = 3) -> dict[str, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    reps = {
        f"{p}.layer_{i}": torch.randn(n, d, generator=g) + 5.0
        for p in ("mean", "last")
        for i in range(layers)
    }
    return reps | {"lengths": torch.randint(5, 20, (n,), generator=g)}


def test_identical_snapshot_has_zero_drift_and_random_has_large() -> None:
    base = _reps(0)
    rows = drift_rows(base, [(0, False, base), (10, True, _reps(1))], n_perm=20, compared=None)
    step0 = [r for r in rows if r["step"] == 0]
    assert all(abs(r["cka_debiased"] - 1) < 1e-12 and abs(r["drift"]) < 1e-12 for r in step0)
    assert all(abs(r["cka"] - 1) < 1e-12 and abs(r["drift_biased"]) < 1e-12 for r in step0)
    assert all(abs(r["cosine"] - 1) < 1e-9 and r["procrustes"] < 1e-9 for r in step0)
    final = [r for r in rows if r["step"] == 10]
    assert all(r["drift"] > 0.7 for r in final)  # independent data: debiased CKA near 0
    assert all(r["drift_biased"] < r["drift"] for r in final)  # biased CKA reads high at small n
    assert all(r["cka_ci"][0] <= r["cka_debiased"] <= r["cka_ci"][1] for r in final)
    assert all(r["cka_ci"][0] < 0 < r["cka_ci"][1] for r in final)  # covers the true 0
    assert all(r["n"] == 40 and r["d"] == 8 for r in rows)
    # The pair's null: the base against the snapshot's rows shuffled, near 0 for both steps.
    assert all(abs(r["null_cka_p95"]) < 0.2 for r in rows)


def test_orthogonal_rotation_keeps_cka_but_not_cosine() -> None:
    base = _reps(0)
    q, _ = torch.linalg.qr(torch.randn(8, 8, generator=torch.Generator().manual_seed(3)))
    rotated = {k: (v @ q if ".layer_" in k else v) for k, v in base.items()}
    rows = drift_rows(base, [(5, True, rotated)], n_perm=0, compared=None)
    assert all(abs(r["cka_debiased"] - 1) < 1e-9 for r in rows)
    assert all(r["cosine_centered"] < 0.9 for r in rows)


def test_controls_bracket_the_scale() -> None:
    base = _reps(0, n=60)
    rows = control_rows(base, _reps(7, n=60))
    for r in rows:
        assert abs(r["self_cka"] - 1) < 1e-12
        assert abs(r["random_init_cka"]) < 0.2  # debiased: independent data is near 0
        assert r["random_init_cka_biased"] > r["random_init_cka"]
        assert 0 < r["top_pc_share"] < 0.5 and r["n"] == 60 and r["d"] == 8


def test_a_dominated_layer_is_flagged_in_the_summary() -> None:
    base = _reps(0)
    spike = 1000.0 / base["lengths"].double()  # an attention sink divided by the input length
    base["mean.layer_1"] = base["mean.layer_1"].double()
    base["mean.layer_1"][:, 3] += spike
    snap = {
        k: v + 0.1 * torch.randn_like(v.double()) if ".layer_" in k else v for k, v in base.items()
    }
    rows = drift_rows(base, [(4, False, snap)], n_perm=0)
    controls = control_rows(base, _reps(9))
    flagged = next(c for c in controls if c["pooling"] == "mean" and c["layer"] == 1)
    assert flagged["top_pc_share"] > 0.99 and flagged["top_coord"] == 3
    assert flagged["length_corr"] > 0.999
    summary = summarize(rows, controls)
    mean = next(s for s in summary if s["pooling"] == "mean")
    assert mean["dominated_layers"] == [1]
    assert next(s for s in summary if s["pooling"] == "last")["dominated_layers"] == []


def test_constant_layer_is_reported_not_crashed() -> None:
    base = _reps(0)
    base["last.layer_0"] = torch.ones(40, 8)
    rows = drift_rows(base, [(1, True, _reps(1))], n_perm=5)
    bad = next(r for r in rows if r["pooling"] == "last" and r["layer"] == 0)
    assert bad["note"] == UNDEFINED and "drift" not in bad
    assert any(r.get("note") == UNDEFINED for r in control_rows(base, _reps(2)))
    summary = summarize(rows)
    last = next(s for s in summary if s["pooling"] == "last")
    assert last["layers"] == 2  # the undefined layer is left out of the mean


def test_extra_measures_only_for_the_compared_pooling() -> None:
    base = _reps(0)
    rows = drift_rows(base, [(3, False, _reps(1))], n_perm=10, compared="last")
    for r in rows:
        assert ("procrustes" in r and "null_cka_p95" in r) is (r["pooling"] == "last")
        assert "cka_ci" in r and "top_pc_share" in r  # every pooling: CKA, interval, diagnostic
