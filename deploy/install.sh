#!/usr/bin/env bash
# Installs or upgrades the PC CADDIE Exchange synchronisation on a Linux club server, the way
# docs/install.md describes: a virtual environment of its own, the pinned dependencies from
# requirements.lock (hash-checked), then the product's wheel (no editable checkout, no tests).
#
#   deploy/install.sh [--prefix DIR] [--wheel FILE] [--lock FILE] [--python PYTHON]
#
#   --prefix DIR     where it goes (default /opt/caddie-exchange-sync)
#   --wheel FILE     the product's wheel; without it, one is built from the source tree this
#                    script belongs to (with the pinned setuptools, inside the new environment)
#   --lock FILE      the pinned dependencies (default: requirements.lock of that source tree)
#   --python PYTHON  the Python 3.11+ that the environment is made from (default python3)
#
# Each run makes a fresh environment PREFIX/releases/STAMP (date and time), installs everything into it,
# checks that both commands start from it, and only then points PREFIX/venv at it (one atomic
# rename). The services run PREFIX/venv/bin/sync-service and PREFIX/venv/bin/exchange-gateway, so
# a failed run changes nothing they use; the release before is kept for a rollback (older ones
# are removed). Restart the services afterwards to run the new release.
set -euo pipefail
umask 022

SOURCE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PREFIX=/opt/caddie-exchange-sync
WHEEL=
LOCK=$SOURCE/requirements.lock
PYTHON=python3

fail() {
    echo "install.sh: $*" >&2
    exit 1
}

usage() {  # exit status: 0 when asked for (--help), 2 for a usage error
    sed -n '6,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&"$(( $1 ? 2 : 1 ))"
    exit "$1"
}

while [ $# -gt 0 ]; do
    case $1 in
        --prefix) [ $# -ge 2 ] || usage 2; PREFIX=$2; shift 2 ;;
        --wheel) [ $# -ge 2 ] || usage 2; WHEEL=$2; shift 2 ;;
        --lock) [ $# -ge 2 ] || usage 2; LOCK=$2; shift 2 ;;
        --python) [ $# -ge 2 ] || usage 2; PYTHON=$2; shift 2 ;;
        -h | --help) usage 0 ;;
        *) echo "install.sh: unknown argument: $1" >&2; usage 2 ;;
    esac
done

command -v "$PYTHON" >/dev/null 2>&1 || fail "no Python here: $PYTHON (install Python 3.11 or newer)"
"$PYTHON" -c 'import sys; raise SystemExit(sys.version_info < (3, 11))' \
    || fail "Python 3.11 or newer is needed, $PYTHON is $("$PYTHON" -c 'import platform; print(platform.python_version())')"
"$PYTHON" -c 'import venv, ensurepip' 2>/dev/null \
    || fail "$PYTHON cannot make virtual environments (on Debian/Ubuntu: apt-get install python3-venv)"
[ -f "$LOCK" ] || fail "no lock file: $LOCK"
if [ -n "$WHEEL" ]; then
    [ -f "$WHEEL" ] || fail "no wheel: $WHEEL"
    WHEEL=$(cd "$(dirname "$WHEEL")" && pwd)/$(basename "$WHEEL")
    case $(basename "$WHEEL") in
        caddie_exchange_sync-*.whl) ;;
        *) fail "not the product's wheel (caddie_exchange_sync-VERSION-….whl): $WHEEL" ;;
    esac
else
    [ -f "$SOURCE/pyproject.toml" ] || fail "no --wheel given and no source tree at $SOURCE"
fi
LOCK=$(cd "$(dirname "$LOCK")" && pwd)/$(basename "$LOCK")
mkdir -p "$PREFIX/releases" || fail "cannot create $PREFIX/releases"
PREFIX=$(cd "$PREFIX" && pwd)
if [ -e "$PREFIX/venv" ] && [ ! -L "$PREFIX/venv" ]; then
    fail "$PREFIX/venv is not a link made by this script; move it away first"
fi

RELEASE=$PREFIX/releases/$(date +%Y%m%d-%H%M%S)
[ -e "$RELEASE" ] && RELEASE=$RELEASE-$$
WORK=$(mktemp -d)
FINISHED=
cleanup() {
    rm -rf "$WORK"
    if [ -z "$FINISHED" ]; then
        rm -rf "$RELEASE" "$PREFIX/venv.next"
        echo "install.sh: nothing was changed: $PREFIX/venv is as it was" >&2
    fi
}
trap cleanup EXIT

step() {
    echo "install.sh: $1"
    shift
    "$@" >"$WORK/step.log" 2>&1 || {
        tail -n 40 "$WORK/step.log" >&2
        fail "failed: $*"
    }
}

step "making a fresh environment $RELEASE" "$PYTHON" -m venv "$RELEASE"
PIP=("$RELEASE/bin/python" -m pip --disable-pip-version-check --no-input)
step "installing the pinned dependencies of $LOCK (hash-checked)" \
    "${PIP[@]}" install --require-hashes -r "$LOCK"
if [ -z "$WHEEL" ]; then
    # the build uses the lock's setuptools (no build isolation: nothing unpinned is fetched);
    # a copy of the tree keeps build/ and *.egg-info out of the source folder
    mkdir "$WORK/source"
    (cd "$SOURCE" && tar --exclude=./.venv --exclude=./.git --exclude=./build --exclude='*.egg-info' \
        --exclude=__pycache__ --exclude=./.mypy_cache --exclude=./.ruff_cache --exclude=./.hypothesis -cf - .) \
        | (cd "$WORK/source" && tar -xf -)
    step "building the wheel from $SOURCE" \
        "${PIP[@]}" wheel --no-deps --no-build-isolation --wheel-dir "$WORK/dist" "$WORK/source"
    WHEEL=$(ls "$WORK"/dist/caddie_exchange_sync-*.whl)
fi
step "installing $(basename "$WHEEL")" "${PIP[@]}" install --no-deps --no-index "$WHEEL"
step "checking that every dependency is there" "${PIP[@]}" check
for script in sync-service exchange-gateway; do
    step "checking that $script starts" env -u PYTHONPATH -C / "$RELEASE/bin/$script" --help
done

VERSION=$("$RELEASE/bin/python" -c 'from importlib.metadata import version; print(version("caddie-exchange-sync"))')
# an environment cannot be moved (its scripts name its python by path): it stays where it was
# made, and the link PREFIX/venv, replaced in one rename, says which release is in use
rm -f "$PREFIX/venv.next"
ln -s "releases/$(basename "$RELEASE")" "$PREFIX/venv.next"
mv -T "$PREFIX/venv.next" "$PREFIX/venv"
FINISHED=yes

# keep the release in use and the one before it
current=$(basename "$RELEASE")
previous=
for old in $(ls -r "$PREFIX/releases"); do
    [ "$old" = "$current" ] && continue
    if [ -z "$previous" ]; then
        previous=$old
    else
        rm -rf "${PREFIX:?}/releases/$old"
    fi
done

echo "install.sh: caddie-exchange-sync $VERSION is installed: $PREFIX/venv -> releases/$current"
if [ -n "$previous" ]; then
    echo "install.sh: the release before is kept: roll back with"
    echo "    ln -s releases/$previous $PREFIX/venv.next && mv -T $PREFIX/venv.next $PREFIX/venv"
fi
echo "install.sh: restart the services to run it: systemctl restart caddie-exchange-gateway caddie-sync-service"
