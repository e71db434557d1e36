#!/usr/bin/env bash
# What the phone app's tests need (tests/phone_app), on Debian bookworm with CPython 3.11:
#   bash examples/phone_app/ci-setup.sh .venv/bin/python
# - Xvfb and ImageMagick (`import`): the app in a real X server, and its screenshot;
# - GTK 3 and the headers PyGObject and pycairo build against (no manylinux wheels exist);
# - toga 0.5.4 into the project's venv: toga-gtk 0.5.5 and later need a PyGObject whose event
#   loop (0.5.5) or build (3.52+, girepository-2.0 from GLib 2.80) bookworm's GLib 2.74 and
#   gobject-introspection 1.74 cannot give; PyGObject 3.50 still builds against them.
# - Briefcase in a venv of its own (build/briefcase-venv, git-ignored): it reads the app's
#   packaging config as `briefcase create android` / `iOS` would. Kept apart: it brings
#   requests, GitPython and a newer pip, none of which belong in the SDK's test environment.
set -euo pipefail
cd "$(dirname "$0")/../.."
python=${1:-.venv/bin/python}

packages=(xvfb imagemagick gir1.2-gtk-3.0 libgirepository1.0-dev libcairo2-dev pkg-config gcc)
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@"; }
  # .ci/run has updated the package lists already; a machine that has not gets them now.
  install "${packages[@]}" >/dev/null || { apt-get update -q && install "${packages[@]}"; }
fi

"$python" -m pip install --quiet --disable-pip-version-check \
  'pygobject>=3.50,<3.51' 'pycairo>=1.20' \
  'toga-core==0.5.4' 'toga-gtk==0.5.4' 'toga-dummy==0.5.4' 'pillow>=10'

[ -x build/briefcase-venv/bin/python ] || "$python" -m venv build/briefcase-venv
build/briefcase-venv/bin/python -m pip install --quiet --disable-pip-version-check 'briefcase==0.4.7'
