#!/usr/bin/env bash
# Quick start: install edge_dan into .venv, create a throwaway agent home, show its value profile
# and let the on-device value model rank a few options for it; then a household of three agents
# finds each other over mDNS (in a private network namespace when possible) and negotiates
# its Saturday, signing one accord. Nothing outside this checkout and temporary directories is
# touched.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/pip install --quiet --disable-pip-version-check .
home=$(mktemp -d)
trap 'rm -rf "$home"' EXIT
export EDGE_DAN_HOME="$home/agent"
# A throwaway passphrase for a throwaway home; real owners are prompted (or use the OS keyring).
export EDGE_DAN_PASSPHRASE="quick-start-$(date +%s)"
.venv/bin/edge-dan init
.venv/bin/edge-dan profile set benevolence=0.85 universalism=0.75 power=0.2 --note "quick start"
.venv/bin/edge-dan profile show
.venv/bin/edge-dan whoami
# The value model ranks options by this owner's values, offline, with reasons; an option that
# would harm someone is refused apart, with the reason, whatever the profile says.
.venv/bin/edge-dan score "Help my neighbour move house on Saturday" \
  "Take the job that pays more but means firing two colleagues" \
  "Spend the weekend at a music festival" \
  "Punch the stranger who insulted me at the bar"
# The local multi-agent demo: three agents, each with its own store and values, negotiate.
.venv/bin/python examples/household.py
