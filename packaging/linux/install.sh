#!/usr/bin/env bash
# Install the built one-folder application for one user (default) or system-wide:
#   bash packaging/linux/install.sh                 # ~/.local (no root needed)
#   sudo bash packaging/linux/install.sh /usr/local # all users
# Copies dist/xnat-desktop-uploader/ to PREFIX/lib/xnat-desktop-uploader, links the launcher into
# PREFIX/bin, and installs the desktop entry, the icon and the AppStream metainfo so the
# application appears in the desktop's menu and software centre. Build first: packaging/build.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

PREFIX=${1:-$HOME/.local}
APP=xnat-desktop-uploader
ID=org.xnat.DesktopUploader
if [ ! -x "dist/$APP/$APP" ]; then
  echo "install.sh: dist/$APP/$APP not found; run bash packaging/build.sh first" >&2
  exit 2
fi

install -d "$PREFIX/lib" "$PREFIX/bin" "$PREFIX/share/applications" \
  "$PREFIX/share/icons/hicolor/scalable/apps" "$PREFIX/share/metainfo"
rm -rf "${PREFIX:?}/lib/$APP"
cp -a "dist/$APP" "$PREFIX/lib/$APP"
ln -sfn "$PREFIX/lib/$APP/$APP" "$PREFIX/bin/$APP"
install -m 0644 "packaging/linux/$ID.desktop" "$PREFIX/share/applications/$ID.desktop"
install -m 0644 desktop_client/gui/resources/icon.svg "$PREFIX/share/icons/hicolor/scalable/apps/$ID.svg"
install -m 0644 "packaging/linux/$ID.metainfo.xml" "$PREFIX/share/metainfo/$ID.metainfo.xml"
command -v update-desktop-database >/dev/null && update-desktop-database -q "$PREFIX/share/applications" || true
command -v gtk-update-icon-cache >/dev/null && gtk-update-icon-cache -q -t "$PREFIX/share/icons/hicolor" || true
echo "Installed $APP in $PREFIX (make sure $PREFIX/bin is on PATH)"
