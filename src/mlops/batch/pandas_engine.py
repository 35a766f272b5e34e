"""Batch scoring on one machine, streaming: read a chunk, validate it, score it, append it.

The input is a pyarrow dataset (a CSV file, a parquet file or a directory of parquet files)
read in record batches that are grouped into chunks of ``chunk_rows``; only one chunk is in
memory at a time, so peak memory depends on ``chunk_rows``, not on the input's size. Each chunk
is validated with the scoring suite (Great Expectations, pandas datasource) before it is
scored; the first chunk that fails stops the job, and ``predict`` removes the partial output.
A CSV is read with every column as text and only blank cells missing, as ``mlops validate``
reads it.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlops.batch.output import MODEL_MD5, MODEL_VERSION, Tally, output_array
from mlops.core.errors import DataError, first_line

if TYPE_CHECKING:
    import pyarrow as pa
    import pyarrow.dataset as ds

    from mlops.batch.model import ScoringModel
    from mlops.core.config import Params
    from mlops.stages.validate import Validator

CHUNK_ROWS = 200_000


def dataset(source: Path) -> ds.Dataset:
    """The input as a pyarrow dataset; every unreadable case a one-line :class:`DataError`."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.dataset as ds

    from mlops.batch.inputs import input_format

    kind = input_format(source)
    try:
        if kind == "csv":
            with source.open(encoding="utf-8", newline="") as handle:
                header = next(csv.reader(handle), [])
            text = pacsv.ConvertOptions(
                column_types={name: pa.string() for name in header},
                null_values=[""],
                strings_can_be_null=True,
            )
            return ds.dataset(source, format=ds.CsvFileFormat(convert_options=text))
        return ds.dataset(source, format="parquet")
    except (pa.ArrowInvalid, OSError, UnicodeDecodeError) as exc:
        raise DataError(f"--input: {source}: not readable: {first_line(exc)}") from None


def count_rows(data: ds.Dataset, source: Path) -> int:
    import pyarrow as pa

    try:
        rows = int(data.count_rows())
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"--input: {source}: not readable: {first_line(exc)}") from None
    if rows == 0:
        raise DataError(
            f"--input: {source}: no data rows (columns: {', '.join(data.schema.names) or 'none'})"
        )
    return rows


def chunks(data: ds.Dataset, source: Path, chunk_rows: int) -> Iterator[pa.Table]:
    """The dataset as tables of ``chunk_rows`` rows (the last one shorter)."""
    import pyarrow as pa

    pending: list[pa.RecordBatch] = []
    size = 0
    try:
        # One file at a time, and no read-ahead: pyarrow's defaults (4 files, 16 batches)
        # would hold several of a directory's files in memory at once.
        batches = (
            batch
            for fragment in data.get_fragments()
            for batch in fragment.to_batches(batch_size=chunk_rows, batch_readahead=0)
        )
        for batch in batches:
            pending.append(batch)
            size += batch.num_rows
            if size >= chunk_rows:
                table = pa.Table.from_batches(pending)
                yield table.slice(0, chunk_rows)
                rest = table.slice(chunk_rows)
                pending, size = rest.to_batches(), rest.num_rows
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"--input: {source}: not readable: {first_line(exc)}") from None
    if size:
        yield pa.Table.from_batches(pending)


def score(
    params: Params,
    source: Path,
    model: ScoringModel,
    validator: Validator,
    partial: Path,
    chunk_rows: int = CHUNK_ROWS,
) -> tuple[int, Tally]:
    """Score ``source`` into the parquet file ``partial``; return the input's rows and the tally."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlops.stages.prepare import typed_features

    data = dataset(source)
    input_rows = count_rows(data, source)
    fitted = model.load()
    id_column = str(params.data.id_column)
    used = params.features.used
    tally = Tally.of(fitted)
    writer: Any = None
    try:
        for table in chunks(data, source, chunk_rows):
            raw = table.to_pandas()
            report = validator.validate(raw)
            if not report.success:
                last = tally.rows + len(raw) - 1
                report.raise_failures(f"--input: {source}: rows {tally.rows}-{last}")
            features = typed_features(raw, params)
            outputs = fitted.outputs(features[used])
            rows = len(features)
            scores = pa.table(
                {
                    id_column: pa.array(features[id_column], type=pa.string()),
                    **{name: output_array(values) for name, values in outputs.items()},
                    MODEL_VERSION: pa.repeat(pa.scalar(model.version), rows),
                    MODEL_MD5: pa.repeat(pa.scalar(model.md5), rows),
                }
            )
            if writer is None:
                writer = pq.ParquetWriter(partial, scores.schema)
            writer.write_table(scores)
            tally.add(outputs)
    finally:
        if writer is not None:
            writer.close()
    return input_rows, tally
