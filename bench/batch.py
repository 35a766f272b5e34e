"""Batch scoring: `mlops predict` on pandas (streaming) and on Spark, at 1M and 10M rows.

    .venv/bin/python bench/batch.py           # 1M and 10M rows, both engines
    .venv/bin/python bench/batch.py --quick   # 20,000 rows, pandas only, RESULTS.md untouched
    .venv/bin/python bench/batch.py 1000000 --engines pandas

Synthetic rows with the demo schema (src/mlops/core/synthetic.py, seeded, ids unique across
parts) are written as a directory of parquet files of at most 1M rows each, every column text
as in the CSV. A logistic regression (the default model) is trained on 50,000 other synthetic
rows. Each cell is one fresh `mlops predict` process (validation with the scoring suite,
scoring, the written-and-renamed output, the summary): its wall time, rows/s and peak RSS.

Targets: the pandas engine's peak RSS at 10M rows at most 1.5x its peak at 1M (memory bounded
by the chunk, not the input). Beside the Spark job, `mlflow.pyfunc.spark_udf` alone (the same
parquet, numeric columns cast, the UDF applied and written to Spark's `noop` sink; the session's
start not counted) shows the job's overhead over the library. The results replace the "Batch
scoring" section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, load_average, machine, measure, stage_env, stage_workdir, write_section

PART_ROWS = 1_000_000
MASTER = "local[2]"


def write_input(n: int, directory: Path) -> Path:
    """``n`` synthetic rows as parquet parts of at most 1M rows, ids unique across parts."""
    import numpy as np

    from mlops.core.synthetic import generate

    directory.mkdir(parents=True)
    for i, start in enumerate(range(0, n, PART_ROWS)):
        size = min(PART_ROWS, n - start)
        frame = generate(size, seed=1000 + i)
        frame["customer_id"] = np.char.add(
            "B", np.char.zfill((np.arange(size) + start).astype(str), 9)
        )
        frame.to_parquet(directory / f"part-{i:03d}.parquet", index=False)
    return directory


def train_model(workdir: Path) -> Path:
    """models/model.joblib of the workdir: the default model on 50,000 synthetic rows."""
    from mlops.core.config import load_params
    from mlops.core.synthetic import generate
    from mlops.stages import train
    from mlops.stages.prepare import clean

    params = load_params(workdir / "params.yaml")
    frame = clean(generate(50_000, seed=7), params)
    return train.save(train.fit(frame, params, device="cpu"), workdir / "models")


def udf_only(source: Path, model_dir: Path) -> None:
    """Child process: spark_udf alone over ``source``; prints its seconds (session excluded)."""
    import mlflow.pyfunc
    from pyspark.sql import functions as sf

    from mlops.batch.model import ScoringModel
    from mlops.batch.spark_engine import pyfunc_dir, session
    from mlops.core.config import load_params

    params = load_params(Path("params.yaml"))
    spark = session(MASTER)
    model = ScoringModel(model_dir / "model.joblib", "bench", "", "bench", registered=False)
    with tempfile.TemporaryDirectory() as tmp:
        udf = mlflow.pyfunc.spark_udf(
            spark,
            model_uri=str(pyfunc_dir(model, Path(tmp))),
            result_type="probability double, label long",
            env_manager="local",
        )
        features = params.features
        columns = [sf.trim(sf.col(c)).try_cast("double").alias(c) for c in features.numeric]
        columns += [sf.col(c).alias(c) for c in features.categorical]
        start = time.perf_counter()
        frame = spark.read.parquet(str(source)).select(*columns)
        frame.select(udf(sf.struct(*features.used)).alias("s")).write.format("noop").mode(
            "overwrite"
        ).save()
        print(f"@@udf {time.perf_counter() - start}")
    spark.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int)
    parser.add_argument("--engines", nargs="+", choices=["pandas", "spark"])
    parser.add_argument("--quick", action="store_true", help="20,000 rows, pandas, no write")
    parser.add_argument("--no-write", action="store_true", help="do not update RESULTS.md")
    parser.add_argument("--udf-only", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.udf_only:
        udf_only(*args.udf_only)
        return
    sizes = args.sizes or ([20_000] if args.quick else [1_000_000, 10_000_000])
    engines = args.engines or (["pandas"] if args.quick else ["pandas", "spark"])
    write = not (args.quick or args.no_write)
    load_before = load_average()
    results: dict[tuple[str, int], dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        workdir = stage_workdir(Path(tmp) / "work", Path(tmp) / "unused.csv")
        model_dir = train_model(workdir).parent
        env = stage_env(MLFLOW_TRACKING_URI=f"sqlite:///{Path(tmp) / 'mlflow.db'}")
        for n in sizes:
            source = write_input(n, Path(tmp) / f"input-{n}")
            for engine in engines:
                out = Path(tmp) / f"scores-{engine}-{n}"
                cmd = [
                    "mlops", "predict", "--input", str(source), "--output", str(out),
                    "--model", str(model_dir / "model.joblib"), "--engine", engine,
                ]  # fmt: skip
                if engine == "spark":
                    cmd += ["--master", MASTER]
                got = measure(cmd, workdir, env)
                summary = json.loads(out.with_name(f"{out.name}.summary.json").read_text())
                assert summary["rows"] == n, summary
                results[(engine, n)] = {"seconds": got.seconds, "rss": got.peak_rss_mb}
                print(
                    f"{engine:>6} {n:>11,} rows: {got.seconds:7.1f} s, {n / got.seconds:9,.0f} "
                    f"rows/s, peak RSS {got.peak_rss_mb:,.0f} MB",
                    flush=True,
                )
                shutil.rmtree(out, ignore_errors=True)
                out.unlink(missing_ok=True)
            if "spark" in engines:
                proc = subprocess.run(
                    [sys.executable, __file__, "--udf-only", str(source), str(model_dir)],
                    cwd=workdir, env=env, capture_output=True, text=True, check=True,
                )  # fmt: skip
                seconds = float(proc.stdout.rsplit("@@udf ", 1)[1].split()[0])
                results[("spark_udf", n)] = {"seconds": seconds}
                print(f"spark_udf alone {n:>11,} rows: {seconds:7.1f} s", flush=True)
            shutil.rmtree(source)
    section = report(results, sizes, engines, load_before)
    print("\n" + section)
    if write:
        write_section("Batch scoring", section)


def report(
    results: dict[tuple[str, int], dict[str, float]],
    sizes: list[int],
    engines: list[str],
    load_before: str,
) -> str:
    def cell(key: tuple[str, int], memory: bool = True) -> str:
        got = results.get(key)
        if got is None:
            return "-"
        text = f"{got['seconds']:.1f} s, {key[1] / got['seconds']:,.0f} rows/s"
        return text + (f", {got['rss']:,.0f} MB" if memory and "rss" in got else "")

    table = [
        "| rows | " + " | ".join(
            {"pandas": "pandas engine", "spark": f"spark engine ({MASTER})"}[e] for e in engines
        ) + (" | spark_udf alone |" if "spark" in engines else " |"),
        "| ---: |" + " ---: |" * (len(engines) + ("spark" in engines)),
    ]  # fmt: skip
    for n in sizes:
        cells = [cell((e, n)) for e in engines]
        if "spark" in engines:
            cells.append(cell(("spark_udf", n), memory=False))
        table.append(f"| {n:,} | " + " | ".join(cells) + " |")
    lines = [
        "## Batch scoring",
        "",
        f"`.venv/bin/python bench/batch.py {' '.join(sys.argv[1:])}`".replace(" `", "`"),
        f"({time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; load average {load_before} "
        "before the run; one run per cell).",
        "",
        f"Machine: {machine('pandas', 'pyarrow', 'pyspark', 'mlflow', 'great-expectations')}.",
        "",
        "Each cell: wall time of one fresh `mlops predict` process (validation, scoring, output, "
        "summary), rows per second, and its peak RSS (for Spark, the Python driver's only: the "
        "JVM that pyspark starts is not its waited-for child, and its heap is bounded by "
        "Spark's `spark.driver.memory`).",
        "",
        *table,
        "",
    ]
    if len(sizes) >= 2 and "pandas" in engines:
        small, large = results[("pandas", sizes[0])], results[("pandas", sizes[-1])]
        ratio = large["rss"] / small["rss"]
        verdict = "met" if ratio <= 1.5 else "missed"
        lines += [
            f"pandas engine peak RSS at {sizes[-1]:,} rows / at {sizes[0]:,}: **{ratio:.2f}x** "
            f"(target <= 1.5x: **{verdict}**).",
            "",
        ]
    if "spark" in engines:
        for n in sizes:
            job, udf = results.get(("spark", n)), results.get(("spark_udf", n))
            if job and udf:
                lines.append(
                    f"At {n:,} rows the Spark job takes {job['seconds'] / udf['seconds']:.1f}x "
                    "the time of `spark_udf` alone: the difference is the session's start, "
                    "reading the text columns and typing them, the Great Expectations "
                    "validation passes, the written output and the summary's pass over it."
                )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
