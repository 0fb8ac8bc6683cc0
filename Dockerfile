# Pac-Arena server image: the asyncio game server plus the static web client.
#   docker build -t pac-arena .      (or deploy/container/build.sh without a Docker engine)
# Settings come from the environment (see server/config.py); no secrets are baked in.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# ---- build: wheels for the project and its dependencies, installed into a venv ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# A C compiler to build the game core with mypyc (below); it stays in this stage. The official
# image has the Python headers; a base with Debian's own Python (the local stand-in) needs
# python3-dev for them. Unpinned: the base image's release decides the versions.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc libc6-dev \
    && if [ ! -e "$(python -c 'import sysconfig; print(sysconfig.get_paths()["include"])')/Python.h" ]; then \
         apt-get install -y --no-install-recommends python3-dev; \
       fi \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so this layer is reused until pyproject.toml changes. The "fast" extra
# (orjson, uvloop) is worth having in production.
COPY pyproject.toml ./
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; print('\n'.join(p['dependencies'] + p['optional-dependencies']['fast']))" > requirements.txt \
    && pip wheel --wheel-dir /wheels -r requirements.txt
# mypy, which brings mypyc, for the game core below: this stage only, at the dev extra's range.
RUN python -c "import tomllib; dev = tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['dev']; print('\n'.join(d for d in dev if d.startswith('mypy')))" > build-requirements.txt \
    && pip install --no-cache-dir -r build-requirements.txt
COPY server/ server/
# The wheel's long description is not needed in the image, so README.md stays out of the context.
RUN touch README.md \
    && pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv --without-pip /opt/venv \
    && pip --python /opt/venv/bin/python install --no-cache-dir --no-index \
       --find-links=/wheels /wheels/*.whl
# The game core compiled with mypyc in the installed copy (about 3x the frames per second of
# pure Python); the script fails the build unless every core module then imports compiled.
COPY deploy/compile_core.py ./
RUN python compile_core.py "$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"

# ---- runtime: nothing but Python, the installed packages and the client files ----
FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PATH=/opt/venv/bin:$PATH \
    HOST=0.0.0.0 \
    PORT=8080 \
    STATIC_DIR=/app/web \
    LOG_FORMAT=json
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --no-create-home --home-dir /app \
       --shell /usr/sbin/nologin app
# Only the installed venv crosses over: no wheels, pip caches or build tools in the image.
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
COPY web/ /app/web/
COPY deploy/container/healthcheck.py /app/healthcheck.py
# Numeric, so the runtime can check it is not root without reading /etc/passwd.
USER 10001:10001
EXPOSE 8080
# ECS and `docker stop` send SIGTERM; the server drains its rooms and exits 0.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "/app/healthcheck.py"]
CMD ["python", "-m", "server"]
