"""Local stand-ins of the third-party actions the workflows use (act_harness.STANDIN_FOR)."""
