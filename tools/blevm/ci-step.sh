#!/usr/bin/env bash
# CI step: bleak and BlueZ for real, in a QEMU VM (see tools/blevm/vm.py). Installs what it needs
# (apt, as root), builds or reuses the cached kernel + initramfs, boots, runs the BLE scenario,
# prints the console and results, and exits nonzero if any case failed or the VM could not run.
# Usage: tools/blevm/ci-step.sh [PYTHON]   (default: .venv/bin/python, else python3)
set -euo pipefail
cd "$(dirname "$0")/../.."
python="${1:-}"
if [ -z "$python" ]; then
  if [ -x .venv/bin/python ]; then python=.venv/bin/python; else python=python3; fi
fi
# Absolute but not resolved (a venv python is a symlink; resolving it would leave the venv).
case "$python" in
  /*) ;;
  */*) python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")" ;;
  *) python="$(command -v "$python")" ;;
esac
started=$(date +%s)
"$python" tools/blevm/vm.py --setup-only
status=0
"$python" tools/blevm/vm.py --timeout 600 -- "$python" tools/blevm/scenario.py || status=$?
echo "blevm: step took $(( $(date +%s) - started )) s, exit code $status"
exit "$status"
