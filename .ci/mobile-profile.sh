#!/usr/bin/env bash
# The mobile profile (issue #16): edge_dan installed with no native package beyond numpy and
# PyNaCl (and cffi), as on a phone or a 32-bit board, then the agent's tests run there.
#
# A fresh venv gets `pip install .[test-core]`: the core and the test tools, none of the
# accelerators ([sqlcipher], [onnx]). The script checks that sqlcipher3, onnxruntime and
# tokenizers (and the network libraries tokenizers brings) cannot be imported, prints the
# installed size, then runs the store (stdlib backend), model (numpy runtime, pure-Python
# tokenizer), pairing, negotiation, owner, agent and discovery tests with
# EDGE_DAN_MOBILE_PROFILE=1, which makes tests/conftest.py refuse to start if an accelerator is
# importable after all. BLE and serial devices are not part of the profile (bumble, pyserial).
#
# Usage: bash .ci/mobile-profile.sh [PYTEST ARGS...]   (from .ci/run; about 7 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."

venv=.venv-mobile
python3 -m venv --clear "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/pip" install --quiet --disable-pip-version-check '.[test-core]'

for module in sqlcipher3 onnxruntime tokenizers huggingface_hub httpx; do
  if "$venv/bin/python" -c "import $module" 2>/dev/null; then
    echo "mobile profile: $module is importable, but the profile must not need it" >&2
    exit 1
  fi
done

site=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
# pip, setuptools and the test tools are not part of what an app ships; edge_dan's own
# dependencies are (pip show lists them).
"$venv/bin/python" tools/mobile/installed_size.py "$site"

export EDGE_DAN_MOBILE_PROFILE=1
# The foreign-CPU checks compare against the host's onnxruntime and ran in the main job.
unset EDGE_DAN_AARCH64_REQUIRED EDGE_DAN_ARMV7_REQUIRED EDGE_DAN_PHONEAPP_REQUIRED
# Everything but the slow tests, then the slow ones that go end to end through what differs here
# (the main job runs all of them with the accelerators; this keeps the job near 6 minutes).
"$venv/bin/python" -m pytest -p no:cacheprovider -m "not slow" \
  tests/store tests/model tests/pairing tests/negotiation tests/owner tests/agent \
  tests/discovery \
  --ignore tests/agent/test_agent_ble.py \
  --ignore tests/discovery/test_ble_discovery_bumble.py \
  --ignore tests/discovery/test_cli_netns_ble.py \
  --ignore tests/discovery/test_privacy_netns.py \
  --ignore tests/discovery/test_agent_device_netns.py \
  --ignore tests/model/test_model_aarch64.py \
  --ignore tests/model/test_model_armv7.py \
  "$@"
"$venv/bin/python" -m pytest -p no:cacheprovider \
  tests/test_packaging.py::test_pip_install_in_a_fresh_venv \
  tests/discovery/test_agent_netns.py::test_two_strangers_pair_over_the_lan_and_then_know_each_other \
  tests/discovery/test_cli_netns.py::test_two_run_agents_pair_by_numeric_comparison_and_negotiate_through_the_cli \
  tests/discovery/test_cli_netns_standalone.py \
  "$@"
