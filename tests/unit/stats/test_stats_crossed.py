"""The crossed examples x runs test: planted effects, its parts of variance, bad input, and its
calibration against the tests that see only one of the two sources of variation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from loralens.stats.crossed import crossed_difference_test, paired_crossed_difference_test

ALPHA = 0.05


def _study(
    rng: np.random.Generator,
    *,
    examples: int,
    runs: int,
    sd_example_by_method: float,
    sd_run: float,
    shift: float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """(runs, examples) 0/1 correctness of two methods from a crossed logistic model.

    Example difficulty is shared by both methods; each method gets its own example-by-method
    deviations and run effects from the same distribution, so the true difference is 0 when
    `shift` is 0 (by symmetry), whatever the variances.
    """
    difficulty = rng.normal(0.8, 1.5, examples)
    out = []
    for plus in (shift, 0.0):
        w = rng.normal(0, sd_example_by_method, examples)
        v = rng.normal(0, sd_run, (runs, 1))
        p = 1 / (1 + np.exp(-(difficulty + w + v + plus)))
        out.append((rng.random((runs, examples)) < p).astype(float))
    return out[0], out[1]


def test_estimate_is_the_difference_of_mean_accuracy():
    rng = np.random.default_rng(0)
    a, b = _study(rng, examples=300, runs=3, sd_example_by_method=0.5, sd_run=0.2)
    r = crossed_difference_test(a, b)
    assert r.estimate == pytest.approx(a.mean() - b.mean())
    assert r.n_runs == (3, 3) and r.n_examples == 300
    assert r.se == pytest.approx(np.hypot(r.se_runs, r.se_examples))


def test_without_example_by_method_variation_it_is_welch_on_run_means():
    # Two methods that get exactly the same examples right, up to run-level shifts: the
    # per-example differences hold no example component, so the test is Welch's.
    rng = np.random.default_rng(1)
    base = (rng.random(200) < 0.7).astype(float)
    a = np.stack([base.copy() for _ in range(3)])
    a[0, :10], a[1, 10:25] = 1 - a[0, :10], 1 - a[1, 10:25]  # runs differ a little
    b = np.stack([base.copy() for _ in range(4)])
    b[0, 50:60], b[2, 60:80] = 1 - b[0, 50:60], 1 - b[2, 60:80]
    r = crossed_difference_test(a, b)
    welch = stats.ttest_ind(a.mean(1), b.mean(1), equal_var=False)
    assert r.se_examples == 0.0
    assert r.p_value == pytest.approx(welch.pvalue, rel=1e-9)


def test_planted_effect_is_measured_and_found():
    rng = np.random.default_rng(2)
    a, b = _study(rng, examples=400, runs=3, sd_example_by_method=0.3, sd_run=0.1, shift=0.8)
    r = crossed_difference_test(a, b)
    assert r.estimate > 0.05 and r.ci_low > 0 and r.p_value < ALPHA
    same = crossed_difference_test(b, b[::-1])
    assert same.estimate == pytest.approx(0.0) and same.p_value == pytest.approx(1.0)


def test_example_by_method_variation_widens_the_interval_beyond_welch():
    rng = np.random.default_rng(3)
    a, b = _study(rng, examples=100, runs=10, sd_example_by_method=1.5, sd_run=0.0)
    r = crossed_difference_test(a, b)
    assert r.se_examples > r.se_runs
    welch = stats.ttest_ind(a.mean(1), b.mean(1), equal_var=False)
    assert r.p_value > welch.pvalue


def test_one_sided_alternatives_split_the_two_sided_p():
    rng = np.random.default_rng(4)
    a, b = _study(rng, examples=200, runs=3, sd_example_by_method=0.5, sd_run=0.2, shift=0.2)
    two = crossed_difference_test(a, b).p_value
    greater = crossed_difference_test(a, b, alternative="greater").p_value
    less = crossed_difference_test(a, b, alternative="less").p_value
    assert greater + less == pytest.approx(1.0)
    assert min(greater, less) == pytest.approx(two / 2)


@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (np.ones((3, 5)), np.ones((3, 6)), "same examples"),
        (np.ones((1, 5)), np.ones((3, 5)), "at least 2 runs"),
        (np.ones(5), np.ones((3, 5)), "(runs, examples)"),
        (np.full((2, 5), np.nan), np.ones((3, 5)), "NaN"),
        (np.ones((2, 5)), np.ones((3, 5)), "do not vary"),
    ],
)
def test_bad_input_is_one_clear_error(a, b, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        crossed_difference_test(a, b)


# Calibration: 2000 simulated studies per case, at the null. With N = 2000 at a true rate of
# 0.05 the Monte-Carlo standard error is 0.0049; the allowed window is alpha + 0.02.
CASES = {
    "runs vary, examples do not": dict(examples=200, runs=3, sd_example_by_method=0.0, sd_run=0.3),
    "both vary": dict(examples=200, runs=3, sd_example_by_method=0.6, sd_run=0.3),
    "examples vary, many runs": dict(examples=100, runs=10, sd_example_by_method=1.5, sd_run=0.0),
}


def _calibration(case: dict, seed: int, n: int = 2000) -> tuple[float, float, float]:
    """(false-positive rate, 95% coverage, Welch-on-run-means false-positive rate)."""
    rng = np.random.default_rng(seed)
    reject = cover = welch = 0
    for _ in range(n):
        a, b = _study(rng, **case)
        r = crossed_difference_test(a, b)
        reject += r.p_value < ALPHA
        cover += r.ci_low <= 0.0 <= r.ci_high
        welch += stats.ttest_ind(a.mean(1), b.mean(1), equal_var=False).pvalue < ALPHA
    return reject / n, cover / n, welch / n


@pytest.mark.filterwarnings("ignore:Precision loss")  # Welch on near-identical run means
@pytest.mark.parametrize("name", sorted(CASES))
def test_crossed_test_is_calibrated_at_the_null(name):
    rate, coverage, _ = _calibration(CASES[name], seed=sorted(CASES).index(name) + 10)
    assert rate <= ALPHA + 0.02
    assert abs(coverage - (1 - ALPHA)) <= 0.02


def test_welch_on_run_means_is_not_when_examples_vary():
    # The reason for the crossed test: a test across seeds alone treats the test set as fixed,
    # and rejects far too often when methods differ example by example.
    rate, _, welch = _calibration(CASES["examples vary, many runs"], seed=20, n=1000)
    assert welch > 0.15 and rate <= ALPHA + 0.02


# Paired by seed: run i of each method shares its seed (data order, head initialisation).
def _paired_study(
    rng: np.random.Generator, *, shared_sd: float, own_sd: float, sd_wm: float, shift: float = 0.0
) -> tuple[np.ndarray, np.ndarray]:
    """(seeds, examples) scores of two methods whose seed effects are shared (`shared_sd`) or
    their own (`own_sd`), with example-by-method deviations `sd_wm`; true difference `shift`."""
    seeds, examples = 3, 200
    u = rng.normal(0, 0.3, examples)  # difficulty, shared
    v = rng.normal(0, shared_sd, (seeds, 1))  # the seed's effect, shared by both methods
    a, b = (
        plus + u + rng.normal(0, sd_wm, examples) + v + rng.normal(0, own_sd, (seeds, 1))
        + rng.normal(0, 0.3, (seeds, examples))
        for plus in (shift, 0.0)
    )  # fmt: skip
    return a, b


def test_paired_without_example_variation_is_the_paired_t_test_on_seed_means():
    rng = np.random.default_rng(30)
    base = (rng.random(200) < 0.7).astype(float)
    a = np.stack([base.copy() for _ in range(3)])
    a[0, :10], a[1, 10:25], a[2, 30:33] = 0.0, 0.0, 0.0
    b = a.copy()
    b[0, 50:58], b[1, 60:62], b[2, 70:75] = 1 - b[0, 50:58], 1 - b[1, 60:62], 1 - b[2, 70:75]
    r = paired_crossed_difference_test(a, b)
    assert r.se_examples == 0.0 and r.n_runs == (3, 3)
    assert r.p_value == pytest.approx(stats.ttest_rel(a.mean(1), b.mean(1)).pvalue, rel=1e-9)
    with pytest.raises(ValueError, match="same shape"):
        paired_crossed_difference_test(a, b[:2])


PAIRED_CASES = {
    "seed effects shared": dict(shared_sd=0.05, own_sd=0.005, sd_wm=0.3),
    "seed effects independent": dict(shared_sd=0.0, own_sd=0.03, sd_wm=0.3),
}


@pytest.mark.parametrize("name", sorted(PAIRED_CASES))
def test_paired_crossed_test_is_calibrated_at_the_null(name):
    rng = np.random.default_rng(sorted(PAIRED_CASES).index(name) + 40)
    reject = cover = 0
    for _ in range(2000):
        r = paired_crossed_difference_test(*_paired_study(rng, **PAIRED_CASES[name]))
        reject += r.p_value < ALPHA
        cover += r.ci_low <= 0.0 <= r.ci_high
    assert reject / 2000 <= ALPHA + 0.02
    assert abs(cover / 2000 - (1 - ALPHA)) <= 0.02


def test_pairing_by_seed_finds_an_effect_the_unpaired_test_misses():
    # Seed effects shared by both methods cancel within a pair: a 6-point shift under seed
    # effects of SD 5 points is found far more often paired than unpaired.
    rng = np.random.default_rng(50)
    found = {"paired": 0, "unpaired": 0}
    for _ in range(300):
        a, b = _paired_study(rng, **PAIRED_CASES["seed effects shared"], shift=0.06)
        found["paired"] += paired_crossed_difference_test(a, b).p_value < ALPHA
        found["unpaired"] += crossed_difference_test(a, b).p_value < ALPHA
    assert found["paired"] > 2 * found["unpaired"]
