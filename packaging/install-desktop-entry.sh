#!/bin/sh
# Put digits in the desktop's application menu: a .desktop entry and its icon, for this user.
# Run from the unpacked digits/ folder (it records where that folder is: move it, run this again).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
mkdir -p "$data/applications" "$data/icons/hicolor/64x64/apps"
cp "$here/digits.png" "$data/icons/hicolor/64x64/apps/digits.png"
# Exec= holds the path quoted as the Desktop Entry spec says: \ " ` $ escaped in the quotes, and
# each backslash then escaped again (it is a string value), % doubled. The line is written by
# awk from the environment: a sed replacement would read & or | in the path (~/Apps & Tools/)
# as its own syntax.
exec_path=$(printf '%s\n' "$here/digits-player" | sed -e 's/\\/\\\\\\\\/g' -e 's/["`$]/\\\\&/g' -e 's/%/%%/g')
DIGITS_EXEC="Exec=\"$exec_path\"" awk '/^Exec=/ { print ENVIRON["DIGITS_EXEC"]; next } { print }' \
    "$here/digits.desktop" > "$data/applications/digits.desktop"
echo "installed $data/applications/digits.desktop (starts $here/digits-player)"
