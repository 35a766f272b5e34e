"""Synthetic rows with the demo (Telco churn) schema, seeded, any size: for benchmarks.

``generate(n, seed)`` returns a frame of text columns exactly as ``data/raw/churn.csv`` holds
them (same columns, order, categories, 0/1 flags, blank total charges for new customers) and
meets ``expectations/churn.yaml`` apart from its row-count range. Churn depends on contract,
tenure, charges and internet service, so a model has something to learn. Vectorized numpy:
a million rows take a few seconds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

YES_NO_SERVICE = ["No", "Yes", "No internet service"]
ADDONS = [
    "online_security",
    "online_backup",
    "device_protection",
    "tech_support",
    "streaming_tv",
    "streaming_movies",
]


def generate(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)

    def flag(p: float) -> np.ndarray:
        return (rng.random(n) < p).astype(int)

    def pick(values: list[str], p: list[float]) -> np.ndarray:
        return rng.choice(np.array(values, dtype=object), size=n, p=p)

    phone = flag(0.9)
    internet = pick(["DSL", "Fiber optic", "No"], [0.34, 0.44, 0.22])
    contract = pick(["Month-to-month", "One year", "Two year"], [0.55, 0.21, 0.24])
    tenure = rng.integers(1, 73, n)
    tenure = np.where(contract == "Month-to-month", (tenure + 1) // 2, tenure)
    tenure = np.where(rng.random(n) < 0.0016, 0, tenure)  # new customers: no total yet
    multiple = np.where(phone == 1, pick(["No", "Yes"], [0.5, 0.5]), "No phone service")
    monthly = np.where(internet == "No", 20.0, np.where(internet == "DSL", 55.0, 80.0))
    monthly = np.round(monthly + rng.normal(0, 8, n).clip(-20, 30) + 5 * phone, 2)
    monthly = monthly.clip(18.25, 118.75)
    total = np.round(tenure * monthly * rng.uniform(0.95, 1.05, n), 2)
    columns: dict[str, object] = {
        "customer_id": np.char.add("S", np.char.zfill(np.arange(1, n + 1).astype(str), 8)),
        "female": flag(0.5),
        "senior_citizen": flag(0.16),
        "partner": flag(0.48),
        "dependents": flag(0.3),
        "tenure": tenure,
        "phone_service": phone,
        "multiple_lines": multiple,
        "internet_service": internet,
    }
    for name in ADDONS:
        choice = pick(["No", "Yes"], [0.55, 0.45])
        columns[name] = np.where(internet == "No", "No internet service", choice)
    logit = (
        -1.7
        + 1.3 * (contract == "Month-to-month")
        - 0.035 * tenure
        + 0.012 * monthly
        + 0.5 * (internet == "Fiber optic")
    )
    churn = rng.random(n) < 1 / (1 + np.exp(-logit))
    columns.update(
        contract=contract,
        paperless_billing=flag(0.59),
        payment_method=pick(
            [
                "Electronic check",
                "Mailed check",
                "Bank transfer (automatic)",
                "Credit card (automatic)",
            ],
            [0.34, 0.23, 0.22, 0.21],
        ),
        monthly_charges=monthly,
        total_charges=total,
        churn=np.where(churn, "Yes", "No"),
    )
    columns["total_charges"] = np.where(tenure > 0, total.astype(str), "")
    return pd.DataFrame({k: np.asarray(v).astype(str) for k, v in columns.items()})


def write_csv(n: int, path: Path, seed: int = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    generate(n, seed).to_csv(path, index=False)
    return path
