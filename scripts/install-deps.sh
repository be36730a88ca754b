#!/usr/bin/env bash
# Installs the Debian 12 packages that building and testing taskpool need.
# Does nothing (and needs no root) when they are all installed already.
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config
  libboost-dev libboost-program-options-dev
  libprotobuf-dev protobuf-compiler
  libssl-dev
  prometheus-cpp-dev
  libgtest-dev libgmock-dev
  libbenchmark-dev
  libsystemd-dev
  libnats-dev nats-server
  nlohmann-json3-dev
  libncurses-dev
  python3 procps
  # tests/contrib reads the alert rules (YAML).
  python3-yaml
  # The Python client (python/): its runtime, its tests, pip install.
  python3-protobuf python3-pytest python3-setuptools python3-wheel python3-pip python3-venv
  # The shells the completion tests load `taskpool completion` into.
  fish zsh
  # Headless, for the status page test (tests/integration/status_page_test).
  chromium
  clang libclang-rt-14-dev
  # The Debian packages (scripts/package.sh) and their tests: building,
  # linting, the man pages, the units and the sysusers entry.
  dpkg-dev debhelper lintian man-db systemd ccache
)

missing=()
for package in "${packages[@]}"; do
  # "install ok installed" is the only state in which a package is usable;
  # dpkg-query fails outright for packages it has never heard of.
  state="$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null || true)"
  [[ "$state" == "install ok installed" ]] || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
sudo=()
if ((EUID != 0)); then
  if ! command -v sudo >/dev/null; then
    echo "install-deps: need root to install ${missing[*]}, and sudo is not" \
         "available; run this script as root" >&2
    exit 1
  fi
  sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y --no-install-recommends "${missing[@]}"
echo "install-deps: done"
