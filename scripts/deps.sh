#!/usr/bin/env bash
# deps.sh: installs every Debian package strom's build, tests, benchmarks and demo need.
# Idempotent and quiet when everything is present. Runs apt-get update only when a package is
# missing from the local lists.
set -euo pipefail

packages=(
  build-essential clang clang-format libclang-rt-14-dev
  libcriterion-dev liburing-dev
  libzstd-dev liblz4-dev libsnappy-dev zlib1g-dev libssl-dev
  kcat librdkafka-dev python3 python3-kafka nodejs
  nats-server libnats-dev redis-server libhiredis-dev
  gnuplot hyperfine linux-perf
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
install() {
  echo "deps: installing $*" >&2
  if ! $sudo apt-get install -y -qq "$@" >/dev/null 2>&1; then
    $sudo apt-get update -qq >/dev/null
    $sudo apt-get install -y -qq "$@" >/dev/null
  fi
}
[ ${#missing[@]} -eq 0 ] || install "${missing[@]}"

# kafkajs (the Kafka tests' third client) from npm into tests/kafkajs/node_modules (git-ignored),
# at the version tests/kafkajs/package.json pins. A nodejs without its own npm gets Debian's.
cd "$(dirname "$0")/.."
if [ ! -d tests/kafkajs/node_modules/kafkajs ]; then
  command -v npm >/dev/null || install npm
  echo "deps: npm install (tests/kafkajs)" >&2
  (cd tests/kafkajs && npm install --no-audit --no-fund --loglevel=error >/dev/null)
fi
