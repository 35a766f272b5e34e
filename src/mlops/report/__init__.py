"""The PR report (``mlops report``) and what the PR job decides from it (``gate``)."""
