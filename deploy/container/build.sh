#!/usr/bin/env bash
# Build (and optionally run) the Pac-Arena image without a Docker engine: buildah/podman in
# chroot isolation with runc, storage under a cache folder outside the repository.
#
#   deploy/container/build.sh env        print the exports that point podman/buildah at the cache
#   deploy/container/build.sh base       make the stand-in base image (debootstrap, cached)
#   deploy/container/build.sh image      build the Dockerfile into $IMAGE (makes the base first)
#   deploy/container/build.sh run        build, then run it on 127.0.0.1:$HOST_PORT
#
# With a reachable registry none of the stand-in business is needed: `docker build .` or
# `podman build .` use the official python image named in the Dockerfile.
#
# Settings (environment):
#   PAC_ARENA_CONTAINER_CACHE  cache folder (default ${XDG_CACHE_HOME:-~/.cache}/pac-arena-container)
#   IMAGE                      tag to build (default localhost/pac-arena:local)
#   PYTHON_IMAGE               base image name the stand-in is tagged as (the Dockerfile default)
#   DEBIAN_MIRROR              mirror for debootstrap (default: the first one apt uses)
#   HOST_PORT                  port for `run` (default 8080)
#   NETWORK_BACKEND            podman's network backend, "netavark" or "cni" (default: podman's);
#                              use one per machine: both put their bridge on 10.88.0.0/16
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${PAC_ARENA_CONTAINER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pac-arena-container}
IMAGE=${IMAGE:-localhost/pac-arena:local}
PYTHON_IMAGE=${PYTHON_IMAGE:-docker.io/library/python:3.11-slim-bookworm}
DEBOOTSTRAP_IMAGE=localhost/pac-arena-debootstrap:bookworm
HOST_CA=${HOST_CA:-/etc/ssl/certs/ca-certificates.crt}

say() { echo "container: $*" >&2; }

# Point buildah and podman at config and storage of our own, so nothing global is touched.
setup_env() {
  mkdir -p "$CACHE/storage" "$CACHE/run" "$CACHE/tmp" "$CACHE/pip"
  cat >"$CACHE/containers.conf" <<CONF
[containers]
# The default nofile limit cannot be raised inside some sandboxes; ask for one that can.
default_ulimits = ["nofile=20000:20000", "nproc=20000:20000"]
[engine]
# crun fails with "setrlimit RLIMIT_NOFILE: Operation not permitted" here; runc works.
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
[network]
${NETWORK_BACKEND:+network_backend = \"$NETWORK_BACKEND\"}
CONF
  cat >"$CACHE/storage.conf" <<CONF
[storage]
driver = "${STORAGE_DRIVER:-overlay}"
graphroot = "$CACHE/storage"
runroot = "$CACHE/run"
CONF
  export CONTAINERS_CONF="$CACHE/containers.conf"
  export CONTAINERS_STORAGE_CONF="$CACHE/storage.conf"
  export BUILDAH_ISOLATION=chroot
  export TMPDIR="$CACHE/tmp"
}

have_image() { podman image exists "$1"; }

debian_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then
    echo "$DEBIAN_MIRROR"
    return
  fi
  local found
  found=$(grep -h -E '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null \
    | grep -v -E 'security|updates|nodesource|google' \
    | sed -E 's/^URIs: *//; s/^deb +(\[[^]]*\] +)?//; s/ .*//' | head -n1 || true)
  echo "${found:-http://deb.debian.org/debian}"
}

# A minimal Debian bookworm with Python 3.11, standing in for the official python image.
make_base() {
  if have_image "$PYTHON_IMAGE"; then
    return
  fi
  local tarball="$CACHE/bookworm-python.tar.gz"
  if [ ! -s "$tarball" ]; then
    local rootfs="$CACHE/rootfs" mirror
    mirror=$(debian_mirror)
    say "debootstrap bookworm from $mirror (first run only, about a minute)"
    rm -rf "$rootfs"
    debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
      bookworm "$rootfs" "$mirror" >"$CACHE/debootstrap.log" 2>&1 \
      || { say "debootstrap failed; see $CACHE/debootstrap.log"; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar --numeric-owner -C "$rootfs" -czf "$tarball.part" .
    mv "$tarball.part" "$tarball"
    rm -rf "$rootfs"
  fi
  if ! have_image "$DEBOOTSTRAP_IMAGE"; then
    say "importing $tarball"
    podman import --change 'CMD ["/bin/bash"]' "$tarball" "$DEBOOTSTRAP_IMAGE" >/dev/null
  fi
  say "tagging a stand-in as $PYTHON_IMAGE"
  # Like the official image: `python` and `pip` first on PATH, pip usable by root.
  buildah bud --format docker --pull=never --quiet -t "$PYTHON_IMAGE" \
    -f "$ROOT/deploy/container/Containerfile.python" "$ROOT/deploy/container" >/dev/null
}

build_image() {
  make_base
  say "building $IMAGE"
  # The host's CA bundle goes in read-only so pip can reach PyPI from inside the build on
  # machines whose traffic passes a TLS-inspecting proxy; the pip cache speeds up rebuilds.
  local mounts=(-v "$CACHE/pip:/root/.cache/pip")
  if [ -s "$HOST_CA" ]; then
    mounts+=(-v "$HOST_CA:/etc/ssl/certs/ca-certificates.crt:ro")
  fi
  buildah bud --format docker --layers --pull=never "${mounts[@]}" \
    --build-arg "PYTHON_IMAGE=$PYTHON_IMAGE" -t "$IMAGE" "$ROOT"
  # Each source change leaves untagged layers behind; recent ones are the build cache, so
  # only those older than two days go.
  podman image prune -f --filter until=48h >/dev/null 2>&1 || true
}

main() {
  local cmd=${1:-image}
  setup_env
  case "$cmd" in
    env)
      echo "export CONTAINERS_CONF=$CONTAINERS_CONF"
      echo "export CONTAINERS_STORAGE_CONF=$CONTAINERS_STORAGE_CONF"
      echo "export BUILDAH_ISOLATION=chroot"
      ;;
    base) make_base ;;
    image) build_image ;;
    run)
      build_image
      say "running $IMAGE on http://127.0.0.1:${HOST_PORT:-8080}/ (Ctrl-C stops it)"
      exec podman run --rm --name pac-arena -p "127.0.0.1:${HOST_PORT:-8080}:8080" "$IMAGE"
      ;;
    *)
      awk 'NR > 1 && !/^#/ { exit } NR > 1' "$0" | sed 's/^# \{0,1\}//'
      exit 2
      ;;
  esac
}

main "$@"
