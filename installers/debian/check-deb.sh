#!/usr/bin/env bash
# Install the built .deb on a brand-new minimal Debian root (made as
# ../shared/checks/fresh-machine.sh makes one) with apt-get, then run the installed
# program's self-test there. Needs root and debootstrap. Usage: check-deb.sh [WORKDIR]
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
DEB=$(ls "$ROOT"/dist/origin-desk_*_*.deb | head -1)
WORK=${1:-/tmp/origin-desk-check-deb}
CHECK=${FRESH_MACHINE:-$ROOT/../shared/checks/fresh-machine.sh}
[ -x "$CHECK" ] || { echo "check-deb: $CHECK not found (set FRESH_MACHINE)" >&2; exit 2; }
command -v debootstrap >/dev/null || { echo "check-deb: install debootstrap first" >&2; exit 2; }
mkdir -p "$WORK"
FRESH_COPY="$DEB:/tmp/$(basename "$DEB")" "$CHECK" "$ROOT" "$WORK" \
  "apt-get install -y -qq /tmp/$(basename "$DEB") >/tmp/apt.log 2>&1 || { tail -20 /tmp/apt.log; exit 1; }; dpkg -s origin-desk | grep -E '^(Status|Version|Depends|Suggests)'; ls -l /usr/bin/origin-desk; origin-desk --version; origin-desk --self-test"
