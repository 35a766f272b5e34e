"""Per model version, on BentoML's ``/metrics`` (Prometheus): what each served model did.

With a challenger beside the champion (``mlops.serving.challenger``) both answer or score, so
BentoML's own per-endpoint figures no longer say which model did what. These count, per
``model_version`` and ``role`` (``answer``: on the response path; ``shadow``: off it):

* ``mlops_model_requests_total`` the prediction calls' requests (or parts of one, in canary),
* ``mlops_model_rows_total`` their rows,
* ``mlops_model_errors_total`` the calls that failed (a shadow's failure never reaches a client),
* ``mlops_model_latency_seconds`` a histogram of each call's time, queueing included.

They are created in the worker (the service's ``__init__``), after BentoML has set up
prometheus_client's multiprocess mode, as BentoML's documentation asks.
"""

from __future__ import annotations

LABELS = ("model_version", "role")
# Prediction calls take milliseconds: finer buckets than prometheus_client's defaults.
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class VersionMetrics:
    def __init__(self) -> None:
        import prometheus_client as prom

        self.requests = prom.Counter(
            "mlops_model_requests", "prediction calls, by model version and role", LABELS
        )
        self.rows = prom.Counter(
            "mlops_model_rows", "rows scored, by model version and role", LABELS
        )
        self.errors = prom.Counter(
            "mlops_model_errors", "failed prediction calls, by model version and role", LABELS
        )
        self.latency = prom.Histogram(
            "mlops_model_latency_seconds",
            "a prediction call's time (queueing included), by model version and role",
            LABELS,
            buckets=BUCKETS,
        )

    def observe(self, version: str, role: str, rows: int, ms: float) -> None:
        self.requests.labels(version, role).inc()
        self.rows.labels(version, role).inc(rows)
        self.latency.labels(version, role).observe(ms / 1000)

    def error(self, version: str, role: str) -> None:
        self.errors.labels(version, role).inc()
