#!/bin/sh
# deps.sh - installs the Debian packages embedlab needs, only when missing.
# Usage: scripts/deps.sh [build|test|bench|load|fuzz|isa|model|words|all]...   (default: build)
# A quick no-op when everything is present; runs apt-get otherwise (as root,
# or through sudo when available).
set -eu

build="gcc make pkg-config libsqlite3-dev libreadline-dev libncurses-dev libopenblas-dev
       libcjson-dev libutf8proc-dev libcsv-dev libmicrohttpd-dev
       libcurl4-openssl-dev"
test="$build libcmocka-dev tmux sqlite3 curl openssl python3 nodejs"
bench="$build python3-numpy python3-gensim python3-torch python3-faiss python3-hnswlib
       wrk curl python3-fastapi python3-uvicorn g++ libhnswlib-dev"
# Wanted but not required, as PACKAGE:COMMAND (skipped when COMMAND exists,
# and a failed install is only reported): some nodejs builds carry npm
# themselves and conflict with Debian's npm; the OpenAI SDK test skips
# without it.
optional_test="npm:npm"
fuzz="$build clang libclang-rt-14-dev"
# make bench: the load test (wrk) and hnswlib built for this CPU (g++, headers)
load="$build wrk curl python3 g++ libhnswlib-dev"
isa="$test qemu-user"
model="curl python3 coreutils"
# The dictionaries the builtin text encoder's word vectors are pretrained on
# (`make builtin-model`): WordNet 3.0 (Princeton's WordNet licence) and GCIDE
# (GPL-2+; read at build time on this machine, see README).
words="$build wordnet-base dict-gcide gzip"

want=""
optional=""
[ $# -eq 0 ] && set -- build
for set in "$@"; do
    case "$set" in
        build) want="$want $build" ;;
        test)  want="$want $test"; optional="$optional_test" ;;
        bench) want="$want $bench" ;;
        fuzz)  want="$want $fuzz" ;;
        isa)   want="$want $isa" ;;
        model) want="$want $model" ;;
        load)  want="$want $load" ;;
        words) want="$want $words" ;;
        all)   want="$want $test $bench $fuzz $isa $words"; optional="$optional_test" ;;
        *) echo "deps.sh: unknown set '$set' (build|test|bench|load|fuzz|isa|model|words|all)" >&2; exit 2 ;;
    esac
done

missing=""
maybe=""
for pc in $optional; do
    command -v "${pc#*:}" >/dev/null 2>&1 || maybe="$maybe ${pc%%:*}"
done
for p in $want; do
    case " $missing " in *" $p "*) continue ;; esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && [ -z "$maybe" ] && exit 0

echo "deps.sh: installing:$missing$maybe" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "deps.sh: need root (or sudo) to install:$missing" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Install first from the current lists; refresh them only when that fails.
if [ -n "$missing" ] && ! $SUDO apt-get install -y -qq $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq $missing
fi
for p in $maybe; do
    $SUDO apt-get install -y -qq "$p" >/dev/null 2>&1 ||
        echo "deps.sh: optional package $p could not be installed (the tests that need it skip)" >&2
done
