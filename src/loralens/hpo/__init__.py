"""`loralens hpo`: tune each method's step size and shape on val with Optuna, for fair runs."""
