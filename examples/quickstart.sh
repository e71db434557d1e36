#!/usr/bin/env bash
# Quick start: install edge_dan into .venv, then run the demo: three Little Dans on this machine
# (each with its own encrypted store and values, in throwaway homes) find each other, pair by
# numeric comparison, decide an everyday question and a multi-issue one under their red lines,
# and sign accords that are verified offline. It writes edge-dan-demo.html (one self-contained
# page) in this directory. Nothing outside this checkout and temporary directories is touched;
# no root needed (real mDNS in a private network namespace where the system allows one).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check '.[full]'
.venv/bin/edge-dan demo "$@"
