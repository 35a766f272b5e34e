"""The machinery every other folder shares: params.yaml's schema (``config``), the errors and
their exit codes, the metrics, the device choice, artifact paths and shared I/O
(``artifacts``), and the typed results passed between steps (``results``)."""
