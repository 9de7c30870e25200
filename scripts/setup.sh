#!/usr/bin/env bash
# Installs covshift's build and run-time dependencies (docs/design.md §6), all
# Debian packages. As root it runs apt-get for what is missing; otherwise it
# prints the exact apt-get line and stops. Run by quickstart.sh, test.sh and
# bench/bench.sh; CS_EXTRA_PACKAGES (space-separated) adds a caller's own
# packages (bench.sh: python3-torch python3-numpy time) to the same check.
set -euo pipefail

CS_PACKAGES=(cmake gcc make pkg-config libgsl-dev libopenblas-dev libsqlite3-dev sqlite3
             libcmocka-dev libinih-dev gnuplot-nox zlib1g-dev dataset-fashion-mnist)
read -r -a cs_extra <<< "${CS_EXTRA_PACKAGES-}"
CS_PACKAGES+=("${cs_extra[@]}")

cs_missing=()
for pkg in "${CS_PACKAGES[@]}"; do
    if [[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)" != *"install ok installed"* ]]; then
        cs_missing+=("$pkg")
    fi
done
# gnuplot-nox is one way to get gnuplot; any installed gnuplot will do.
if [[ " ${cs_missing[*]-} " == *" gnuplot-nox "* ]] && command -v gnuplot >/dev/null 2>&1; then
    cs_missing=("${cs_missing[@]/gnuplot-nox}")
    read -r -a cs_missing <<< "${cs_missing[*]}"
fi

if ((${#cs_missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        echo "setup: installing ${cs_missing[*]}" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q >/dev/null || true
        apt-get install -y -q --no-install-recommends "${cs_missing[@]}" >&2
    else
        echo "setup: missing Debian packages. Run, then retry:" >&2
        echo "  sudo apt-get install -y ${cs_missing[*]}" >&2
        exit 1
    fi
fi
