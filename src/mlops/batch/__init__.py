"""Batch scoring with a registered model (``mlops predict``): a table in, a parquet of scores out.

* :mod:`~mlops.batch.inputs`: what the input is (CSV, parquet, a directory of parquet).
* :mod:`~mlops.batch.model`: which model (``champion``, a version, or a ``.joblib`` file).
* :mod:`~mlops.batch.output`: the output's columns, its summary, and the write-then-rename.
* :mod:`~mlops.batch.pandas_engine`: one machine, streaming in chunks (bounded memory).
* :mod:`~mlops.batch.spark_engine`: the same job on Apache Spark (``mlflow.pyfunc.spark_udf``).
* :mod:`~mlops.batch.predict`: the command: validate, score, check, rename, summarize.
"""
