"""Bringing a team's own table into the template: ``mlops init`` (``init``), which infers each
column's role and the task (``infer``) and rewrites ``params.yaml``, the suite and ``data.dvc``."""
