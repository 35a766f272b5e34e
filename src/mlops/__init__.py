"""mlops: a pull-request-driven MLOps template (DVC pipeline, MLflow tracking)."""

from mlops.core.reproducible import pin_blas_kernel

# Before NumPy loads: the same OpenBLAS kernel on every x86-64 machine (byte-identical models).
pin_blas_kernel()

__version__ = "0.1.0"
