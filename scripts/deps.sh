#!/bin/sh
# deps.sh - installs the Debian packages embedlab needs, only when missing.
# Usage: scripts/deps.sh [build|test|bench|fuzz|all]...   (default: build)
# A quick no-op when everything is present; runs apt-get otherwise (as root,
# or through sudo when available).
set -eu

build="gcc make pkg-config libsqlite3-dev libreadline-dev libncurses-dev libopenblas-dev
       libcjson-dev libutf8proc-dev libcsv-dev"
test="$build libcmocka-dev tmux sqlite3"
bench="$build python3-numpy python3-gensim python3-torch python3-faiss python3-hnswlib"
fuzz="$build clang libclang-rt-14-dev"
model="curl python3 coreutils"

want=""
[ $# -eq 0 ] && set -- build
for set in "$@"; do
    case "$set" in
        build) want="$want $build" ;;
        test)  want="$want $test" ;;
        bench) want="$want $bench" ;;
        fuzz)  want="$want $fuzz" ;;
        model) want="$want $model" ;;
        all)   want="$want $test $bench $fuzz" ;;
        *) echo "deps.sh: unknown set '$set' (build|test|bench|fuzz|model|all)" >&2; exit 2 ;;
    esac
done

missing=""
for p in $want; do
    case " $missing " in *" $p "*) continue ;; esac
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

echo "deps.sh: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
    echo "deps.sh: need root (or sudo) to install:$missing" >&2; exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Install first from the current lists; refresh them only when that fails.
if ! $SUDO apt-get install -y -qq $missing >/dev/null 2>&1; then
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq $missing
fi
