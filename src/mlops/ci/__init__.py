"""The commands the GitHub workflows call (``mlops changed``, ``needs``, ``gpu-check``,
``smoke-test``, ``image-digest``, ``no-comment``, ``check-reproduction``): every decision a
workflow takes, as code that runs and is tested anywhere."""
