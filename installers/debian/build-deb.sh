#!/usr/bin/env bash
# The Debian package of the one-folder bundle: the bundle under /opt/origin-desk, the
# command /usr/bin/origin-desk, a desktop entry that also opens received certificate PDFs,
# and the icon. Usage: build-deb.sh BUNDLE_DIR OUT_DIR
set -euo pipefail
BUNDLE=$1; OUT=$2
HERE=$(cd "$(dirname "$0")" && pwd); ROOT=$(cd "$HERE/../.." && pwd)
[ -x "$BUNDLE/origin-desk" ] || { echo "build-deb: no bundle at $BUNDLE (run make dist)" >&2; exit 2; }
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/pyproject.toml" | head -1)
ARCH=$(dpkg --print-architecture)
STAGE=$(mktemp -d); trap 'rm -rf "$STAGE"' EXIT
PKG="$STAGE/origin-desk"
mkdir -p "$PKG/DEBIAN" "$PKG/opt" "$PKG/usr/bin" "$PKG/usr/share/applications" \
         "$PKG/usr/share/icons/hicolor/256x256/apps" "$PKG/usr/share/doc/origin-desk"
cp -a "$BUNDLE" "$PKG/opt/origin-desk"
ln -s /opt/origin-desk/origin-desk "$PKG/usr/bin/origin-desk"
install -m 0644 "$HERE/origin-desk.desktop" "$PKG/usr/share/applications/origin-desk.desktop"
install -m 0644 "$ROOT/resources/icons/origin-desk.png" \
        "$PKG/usr/share/icons/hicolor/256x256/apps/origin-desk.png"
install -m 0644 "$ROOT/README.md" "$PKG/usr/share/doc/origin-desk/README.md"
SIZE=$(du -sk "$PKG" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" \
    "$HERE/control.in" > "$PKG/DEBIAN/control"
install -m 0755 "$HERE/postinst" "$PKG/DEBIAN/postinst"
install -m 0755 "$HERE/postrm" "$PKG/DEBIAN/postrm"
find "$PKG" -type d -exec chmod 0755 {} +
mkdir -p "$OUT"
DEB="$OUT/origin-desk_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zgzip --build "$PKG" "$DEB" >/dev/null
echo "$DEB"
