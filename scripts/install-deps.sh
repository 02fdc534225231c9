#!/usr/bin/env bash
# Installs what weft's build, tests and benchmarks need from Debian 12's packages. Idempotent: it asks
# apt only for what is missing, so a second run does nothing.
#   scripts/install-deps.sh          build and tests
#   scripts/install-deps.sh bench    also the HTTP benchmark's load generator and peers
set -euo pipefail

packages=(
  cmake ninja-build g++ clang make        # toolchain (clang 14 for the fuzz and sanitizer builds)
  libexpected-dev                          # tl::expected, behind weft::result
  libgtest-dev                             # tests
  libbenchmark-dev libboost-dev            # benchmarks: Google Benchmark, and Boost.Asio as the peer
  node-llhttp                              # HTTP parser sources (/usr/share/llhttp), compiled into weft
  libc-ares-dev                            # the asynchronous DNS resolver
  libssl-dev openssl                       # TLS (and the openssl tool the TLS tests make certificates with)
  libcli11-dev nlohmann-json3-dev zlib1g-dev   # the weft tool: options, httpbin's JSON, /gzip and /deflate
  curl python3 nodejs golang-go            # real HTTP clients the tests talk to (Node's fetch, Go's net/http)
  wrk apache2-utils hey                    # load tools the tests check every answer of (ab is apache2-utils')
  python3-httpbin gunicorn                 # the reference httpbin that `weft serve` is tested against
  nginx-light                              # a server the HTTP client is tested against (and a bench peer)
  prometheus                               # scrapes `weft serve --metrics-port` in a test
  chromium                                 # loads the timeline pages (weft trace view, demo --timeline) in a test
  openmpi-bin libopenmpi-dev               # weft::mpi, and `weft load` across ranks (mpirun)
)
if [[ ${1:-} == bench ]]; then
  # (wrk and golang-go, above, are also bench/http's load generator and bench/client's Go peer.)
  packages+=(libtbb-dev)                   # bench/parallel: oneTBB parallel_for as a peer (OpenMP comes with g++)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} > 0)); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The npm packages the tests check weft against (tests/node/package-lock.json pins them): an independent
# HdrHistogram decoder for `weft load --hdr-log`.
peers_dir="$(cd "$(dirname "$0")/.." && pwd)/tests/node"
if [[ ! -d $peers_dir/node_modules/hdr-histogram-js ]]; then
  echo "install-deps: installing the npm packages of tests/node"
  (cd "$peers_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi
