"""Thin, pure statistics layer over scipy and statsmodels.

loralens chooses the test and states the unit of replication: the training seed for comparisons
of methods (independent samples, never paired), the test example for McNemar and paired
permutation tests, the probe example for delete-one jackknife intervals of CKA (a row bootstrap
duplicates rows, which inflates CKA). Every result carries its effect estimate and, where one
applies, a confidence interval; none is a bare p-value.
"""

from loralens.stats.anova import AnovaRow, AnovaTable, two_way_anova
from loralens.stats.bootstrap import bootstrap_ci, bootstrap_paired_ci, bootstrap_rows_ci
from loralens.stats.corrections import Correction, adjust_pvalues, bonferroni, holm
from loralens.stats.effect_size import EffectSize, cohens_d, hedges_correction, hedges_g
from loralens.stats.hypotheses import (
    Thresholds,
    Verdict,
    accuracy_verdict,
    drift_verdict,
    evaluate_hypothesis,
    serving_verdict,
)
from loralens.stats.mcnemar import (
    McNemarResult,
    mcnemar_from_predictions,
    mcnemar_from_table,
    mcnemar_test,
)
from loralens.stats.permutation import permutation_test_independent, permutation_test_paired
from loralens.stats.power import (
    PowerResult,
    achieved_power,
    seeds_for_noninferiority,
    seeds_needed,
)
from loralens.stats.results import ConfidenceInterval, StatResult
from loralens.stats.seeds import (
    log_ratio_test,
    mann_whitney_u,
    one_sample_t_test,
    paired_log_ratio_test,
    welch_noninferiority,
    welch_t_test,
)

__all__ = [
    "AnovaRow",
    "AnovaTable",
    "ConfidenceInterval",
    "Correction",
    "EffectSize",
    "McNemarResult",
    "PowerResult",
    "StatResult",
    "Thresholds",
    "Verdict",
    "accuracy_verdict",
    "achieved_power",
    "adjust_pvalues",
    "bonferroni",
    "bootstrap_ci",
    "bootstrap_paired_ci",
    "bootstrap_rows_ci",
    "cohens_d",
    "drift_verdict",
    "evaluate_hypothesis",
    "hedges_correction",
    "hedges_g",
    "holm",
    "log_ratio_test",
    "mann_whitney_u",
    "mcnemar_from_predictions",
    "mcnemar_from_table",
    "mcnemar_test",
    "one_sample_t_test",
    "paired_log_ratio_test",
    "permutation_test_independent",
    "permutation_test_paired",
    "seeds_for_noninferiority",
    "seeds_needed",
    "serving_verdict",
    "two_way_anova",
    "welch_noninferiority",
    "welch_t_test",
]
