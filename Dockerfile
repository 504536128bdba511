# syntax=docker/dockerfile:1
# The modelward image: the CLI, the admission webhook (`modelward webhook serve`), the vetting
# controller (`modelward controller`) and its Jobs (`modelward vetting run`).
#
#   docker build -t registry.example.com/platform/modelward:0.1.0 .
#
# Pin the base images by digest for reproducible builds, e.g.
#   --build-arg PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:<digest>
# docs/admission.md ("Building the image") has the details.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.8

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# --- builder: the locked dependencies and modelward itself in a virtual environment ---------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_PROJECT_ENVIRONMENT=/opt/modelward \
    UV_PYTHON=/usr/local/bin/python3.11 \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
WORKDIR /src
# Dependencies first (exactly uv.lock, every extra, no dev group), so source edits reuse this layer.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --all-extras --no-install-project
# Then the project, installed as a regular (non-editable) package.
COPY setup.py README.md ./
COPY engine ./engine
COPY admission ./admission
COPY controller ./controller
COPY cli ./cli
COPY policies ./policies
RUN uv sync --frozen --no-dev --all-extras --no-editable \
    && /opt/modelward/bin/modelward --version

# --- final: the runtime only ---------------------------------------------------------------
FROM ${PYTHON_IMAGE}
# The base image's packaging tools are not needed at run time.
RUN python -m pip uninstall --yes --quiet pip setuptools wheel \
    && rm -rf /root/.cache \
    && groupadd --system --gid 65532 modelward \
    && useradd --system --uid 65532 --gid 65532 --home-dir /nonexistent --no-create-home \
       --shell /usr/sbin/nologin modelward
COPY --from=builder /opt/modelward /opt/modelward
ENV PATH=/opt/modelward/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    HOME=/tmp
# The UID/GID the Helm chart runs as (securityContext.runAsUser/runAsGroup).
USER 65532:65532
WORKDIR /tmp
EXPOSE 8443
LABEL org.opencontainers.image.title="modelward" \
      org.opencontainers.image.description="Policy-as-code gate for ML models: CLI and Kubernetes admission webhook" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["modelward"]
CMD ["--help"]
