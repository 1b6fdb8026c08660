#!/bin/sh
# Put digits in the desktop's application menu: a .desktop entry and its icon, for this user.
# Run from the unpacked digits/ folder (it records where that folder is: move it, run this again).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/icons/hicolor/64x64/apps"
cp "$here/digits.png" "$data/icons/hicolor/64x64/apps/digits.png"
sed "s|^Exec=.*|Exec=\"$here/digits-player\"|" "$here/digits.desktop" > "$data/applications/digits.desktop"
echo "installed $data/applications/digits.desktop (starts $here/digits-player)"
