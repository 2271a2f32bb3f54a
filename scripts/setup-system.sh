#!/usr/bin/env bash
# System libraries svt-live needs: PortAudio (microphone), JACK and PulseAudio
# (real audio/MIDI servers for the tests, no sound hardware needed), the
# libraries Qt needs to render offscreen, the libraries of Qt 6's xcb platform
# plugin (svt-gui on an X11 desktop; the list of "Qt for X11 Requirements"
# that the PySide6 wheel does not bundle), Xvfb and xwininfo (the xcb test),
# and where Debian packages it, Chromium (the HTML report's browser test). Installs with apt-get only what is
# missing, and only where that is allowed (root, apt-get present); otherwise
# prints what to install and carries on.
set -u
PKGS="libportaudio2 jackd2 pulseaudio pulseaudio-utils libasound2-plugins libgl1 libegl1 \
libxkbcommon0 libfontconfig1 libdbus-1-3 libglib2.0-0 fonts-dejavu-core \
libx11-xcb1 libxrender1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 \
libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0 libxcb-sync1 \
libxcb-xfixes0 libxcb-xkb1 libxkbcommon-x11-0 xvfb xauth x11-utils"
# headless Chromium renders the sight-singing HTML report in its test (which skips without it);
# only where the distribution packages it as a deb (Debian), not as a snap
apt-cache show chromium >/dev/null 2>&1 && PKGS="$PKGS chromium"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup: not a Debian/Ubuntu system; install the equivalents of:$missing" >&2
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: missing system packages:$missing" >&2
  echo "setup: run: sudo apt-get install --no-install-recommends$missing" >&2
  exit 0
fi
echo "setup: installing system packages:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq && apt-get install -y -qq --no-install-recommends $missing >/dev/null \
  || { echo "setup: apt-get failed; the microphone, MIDI-port and GUI tests will skip" >&2; exit 0; }
