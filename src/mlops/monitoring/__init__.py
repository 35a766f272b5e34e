"""Production closing the loop: the service's traffic records read back, and ``mlops monitor``
judging production data against what the champion was trained on (docs/monitoring.md)."""
