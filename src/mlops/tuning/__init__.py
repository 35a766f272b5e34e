"""``mlops tune``: search a model family's hyper-parameters with Optuna and propose the best
as a change of params.yaml (docs/tuning.md)."""
