#!/usr/bin/env bash
# Build the standalone app: dist/digits-<os>-<arch>.tar.gz (on this machine
# dist/digits-linux-x86_64.tar.gz), which unpacks to digits/ with the programs digits/digits-player
# and digits/digits-predict. They need no Python on the target: PyInstaller puts the interpreter,
# onnxruntime, numpy, pillow, pygame and the shipped model in the folder (digits/_internal/).
#
#   bash packaging/build-app.sh          # about 2 minutes on 2 cores, the first time 3-4
#
# The app is built from a virtual environment of its own (build/app-venv, kept between runs)
# holding only `pip install .`, what an end user gets: nothing of TensorFlow can leak in.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
VENV=build/app-venv
OUT=build/app-dist
NAME=digits-$(uname -s | tr '[:upper:]' '[:lower:]')-$(uname -m)
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off

echo "== build environment ($VENV)"
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip
"$VENV/bin/python" -m pip install -q . "pyinstaller>=6.6"

echo "== PyInstaller"
rm -rf "$OUT" build/pyinstaller
"$VENV/bin/python" -m PyInstaller --noconfirm --log-level WARN --distpath "$OUT" --workpath build/pyinstaller \
    packaging/digits.spec
APP=$OUT/digits
# The interpreter's own libraries come with debug symbols (libpython alone 23 MB, 6 MB without);
# the wheels' libraries are already stripped or patched by auditwheel, and are left alone.
if command -v strip >/dev/null; then
    strip --strip-unneeded "$APP"/_internal/libpython3*.so* "$APP"/_internal/python3*/lib-dynload/*.so
fi
"$VENV/bin/python" -m player.icon "$APP/digits.png" 64
cp packaging/digits.desktop packaging/install-desktop-entry.sh "$APP/"
cat > "$APP/README.txt" <<'TXT'
digits: draw a digit or a number with the mouse, press Enter, it is read.

  ./digits-player                draw; Enter reads, Backspace undoes, Esc clears, H helps, Q quits
  ./digits-predict drawing.json  read saved drawings or pictures (PNG/JPEG) from the command line
  ./install-desktop-entry.sh     add digits to your desktop's application menu

Saved drawings and corrections go to ~/.local/share/digits/ (as with the pip-installed app).
TXT

echo "== check: the programs run with an empty environment"
env -i "$APP/digits-predict" --json tests/data/one.json
env -i SDL_VIDEODRIVER=dummy SDL_AUDIODRIVER=dummy "$APP/digits-player" --max-frames 5

mkdir -p dist
tar -czf "dist/$NAME.tar.gz.tmp" -C "$OUT" digits
mv "dist/$NAME.tar.gz.tmp" "dist/$NAME.tar.gz"
echo "wrote dist/$NAME.tar.gz ($(du -h "dist/$NAME.tar.gz" | cut -f1); unpacked $(du -sh "$APP" | cut -f1))"
