#!/usr/bin/env bash
# Registers one ephemeral self-hosted runner (labels self-hosted, gpu) and runs it: the runner
# takes a single job, GitHub removes its registration, and the container exits.
# --disableupdate: the runner never replaces itself with a download that no hash in the
# Dockerfile covers; a new runner version comes with a rebuilt image (RUNNER_VERSION and
# RUNNER_SHA256), which GitHub expects within 30 days of a runner release.
# Environment:
#   GITHUB_URL      https://github.com/OWNER/REPO (or an organisation URL)   required
#   RUNNER_TOKEN    a registration token (Settings > Actions > Runners)       required
#   RUNNER_NAME     default: gpu-<hostname>
#   RUNNER_LABELS   extra labels, default: gpu (self-hosted is always added by GitHub)
set -euo pipefail

: "${GITHUB_URL:?set GITHUB_URL to https://github.com/OWNER/REPO}"
: "${RUNNER_TOKEN:?set RUNNER_TOKEN to a runner registration token}"

cd /opt/actions-runner
./config.sh \
    --unattended \
    --ephemeral \
    --replace \
    --url "${GITHUB_URL}" \
    --token "${RUNNER_TOKEN}" \
    --name "${RUNNER_NAME:-gpu-$(hostname)}" \
    --labels "${RUNNER_LABELS:-gpu}" \
    --work _work \
    --disableupdate
unset RUNNER_TOKEN

exec ./run.sh
