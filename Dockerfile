# syntax=docker/dockerfile:1
# boxoffice: build the virtual environment with uv, then copy only it into a slim runtime image.

ARG PYTHON_VERSION=3.11

# Both stages start from the same Python image, so the environment's interpreter links
# (/usr/local/bin/python3) are valid in the runtime stage too.
FROM python:${PYTHON_VERSION}-slim-bookworm AS build
COPY --from=ghcr.io/astral-sh/uv:0.13.9 /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3
WORKDIR /app
# Dependencies first, from the lock file alone, so that a code change reuses this layer.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-install-project
COPY README.md ./
COPY src ./src
# The project itself, installed into the environment rather than linked to the source tree.
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --frozen --no-dev --no-editable

FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime
RUN groupadd --system --gid 10001 boxoffice \
    && useradd --system --uid 10001 --gid boxoffice --home-dir /srv/boxoffice \
       --create-home --shell /usr/sbin/nologin boxoffice
COPY --from=build /app/.venv /app/.venv
ENV PATH="/app/.venv/bin:$PATH" \
    PYTHONUNBUFFERED=1 \
    BOXOFFICE_ENV=production
# The working directory is the user's own: a SQLite file, when one is used, is written here.
WORKDIR /srv/boxoffice
USER boxoffice:boxoffice
EXPOSE 8000
# Liveness only (the process answers); readiness (/readyz) is the proxy's business.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2)"]
ENTRYPOINT ["boxoffice"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
