"""Validation overhead: Great Expectations validation vs a plain CSV read, at 100k and 1M rows.

    .venv/bin/python bench/validation.py            # 100k and 1M rows, 3 runs each
    .venv/bin/python bench/validation.py 10000 -r 5 # other sizes / repeats

Synthetic data with the demo schema (src/mlops/synthetic.py, seeded) is written to a temporary
CSV. For each size it times, side by side and interleaved, the medians of:

* read:      ``pandas.read_csv(path)`` (types inferred), what a stage without validation pays;
* validate:  ``read_raw`` + the full expectation suite through the Great Expectations
             checkpoint (the ``mlops validate`` work without writing the Data Docs);
* data docs: the same with the Data Docs site built (one extra figure).

The checkpoint is built once per size (as `mlops validate` builds it once per run); the
time to import Great Expectations and build it is reported separately. The results replace
the "Validation overhead" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from common import ROOT, machine, write_section


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("-r", "--repeats", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    args = parser.parse_args()

    start = time.perf_counter()
    import great_expectations  # noqa: F401  (timed: the cost of the first import)

    import_s = time.perf_counter() - start
    import pandas as pd

    from mlops.core.artifacts import read_raw
    from mlops.core.synthetic import write_csv
    from mlops.stages.suite import load_suite
    from mlops.stages.validate import Validator

    suite = load_suite(ROOT / "expectations" / "churn.yaml")
    # the demo suite caps the rows at 10x the demo data; the benchmark sizes go beyond
    suite = suite.model_copy(update={"rows": suite.rows.model_copy(update={"max": None})})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            path = write_csv(n, Path(tmp) / f"churn_{n}.csv", seed=n)
            size_mb = path.stat().st_size / 1e6
            build_start = time.perf_counter()
            validator = Validator(suite)
            build_s = time.perf_counter() - build_start
            docs = Validator(suite, docs_dir=Path(tmp) / "docs")

            def validate(v: Validator = validator, p: Path = path) -> None:
                report = v.validate(read_raw(p))
                assert report.success, [o.sentence() for o in report.failures]

            def with_docs(v: Validator = docs, p: Path = path) -> None:
                v.validate(read_raw(p))

            reads, checks = [], []
            for _ in range(args.repeats):  # interleaved, so load on the machine hits both
                reads.append(timed(lambda p=path: pd.read_csv(p)))
                checks.append(timed(validate))
            docs_s = timed(with_docs)
            read_s, check_s = statistics.median(reads), statistics.median(checks)
            row = (n, size_mb, read_s, check_s, check_s / read_s, docs_s, build_s)
            rows.append(row)
            print(
                f"{n:>9,} rows ({size_mb:.0f} MB): read {read_s:.2f} s, validate {check_s:.2f} s "
                f"(x{check_s / read_s:.1f}), with data docs {docs_s:.2f} s; runs: "
                f"read {[round(x, 2) for x in reads]}, validate {[round(x, 2) for x in checks]}",
                flush=True,
            )

    table = [
        "| rows | CSV size | read (median) | validate (median) | validate / read "
        "| validate + Data Docs (1 run) | checkpoint build |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for n, size_mb, read_s, check_s, ratio, docs_s, build_s in rows:
        table.append(
            f"| {n:,} | {size_mb:.0f} MB | {read_s:.2f} s | {check_s:.2f} s | {ratio:.1f}x "
            f"| {docs_s:.2f} s | {build_s:.2f} s |"
        )
    section = "\n".join(
        [
            "## Validation overhead",
            "",
            f"`.venv/bin/python bench/validation.py {' '.join(sys.argv[1:])}`".replace(" `", "`"),
            f"({time.strftime('%Y-%m-%d')}, medians of {args.repeats} interleaved runs).",
            "",
            f"Machine: {machine('pandas', 'great-expectations')}.",
            "",
            *table,
            "",
            f"Importing Great Expectations took {import_s:.1f} s (paid once per `mlops validate`).",
            "",
            "Validate is the whole of `mlops validate` except the Data Docs: reading the file "
            "with every column as text, typing the numeric columns, and the 54 expectations of "
            "`expectations/churn.yaml` (row-count cap lifted) through the checkpoint. The "
            "machine was shared with other jobs, so single runs vary by about 20%.",
            "",
        ]
    )
    print("\n" + section)
    if not args.no_write:
        write_section("Validation overhead", section)


if __name__ == "__main__":
    main()
