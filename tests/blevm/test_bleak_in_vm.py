"""bleak and BlueZ for real: boot the blevm QEMU guest and check what its BLE scenario reports.

Slow (about 40 s under software emulation) and needs root + apt on first use, so
it is marked ``blevm`` and deselected from the default run; CI runs it as its own step
(``tools/blevm/ci-step.sh``). Skips when the VM cannot be set up here (exit 77 of vm.py).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "blevm"))
import vm

pytestmark = pytest.mark.blevm


@pytest.fixture(scope="module")
def vm_run() -> vm.VmRun:
    try:
        return vm.run_job([sys.executable, str(vm.SCENARIO)], timeout=420.0)
    except vm.VmUnavailable as error:
        pytest.skip(f"the blevm VM cannot be set up here: {error}")


def case(run: vm.VmRun, name: str) -> dict[str, Any]:
    result: dict[str, Any] | None = run.results.get(name)
    assert result is not None, f"the guest reported nothing for {name}:\n{run.console[-4000:]}"
    return result


def test_bleak_central_finds_and_opens_a_noise_session(vm_run: vm.VmRun) -> None:
    result = case(vm_run, "bleak_central")
    assert result["ok"], result
    assert result["sighting_address"].upper() == result["advertised_address"].upper()
    assert result["peer_identity_ok"] and result["echoed_ok"]
    assert result["initiator_mtu"] > 23  # the exchanged MTU reached bleak, not BlueZ's default


def test_bluez_peripheral_serves_a_noise_session_and_rotates(vm_run: vm.VmRun) -> None:
    result = case(vm_run, "bluez_peripheral")
    assert result["ok"], result
    assert result["peer_identity_ok"] and result["echoed_ok"]
    assert result["responder_mtu"] > 23  # BlueZ told the peripheral the exchanged MTU
    assert result["rotation_token_changed"]  # and the central saw the new token


def test_bleak_drives_a_nus_thermostat_through_the_firmware_bridge(vm_run: vm.VmRun) -> None:
    result = case(vm_run, "bleak_nus_bridge")
    assert result["ok"], result
    assert "no-such-thermostat" in result["not_found_error"]  # BleDeviceNotFound, by name
    assert result["by_name_kind"] == "thermostat"
    assert result["by_name_points"] == ["setpoint", "temp", "heating"]
    assert result["initial_values"]["setpoint"] == 200 and result["after_set"]["setpoint"] == 190
    assert result["receipt_applied"] == {"setpoint": 215} and result["state_accord_id_ok"]
    assert result["by_address_values"]["setpoint"] == 215  # a new link by address sees it
    assert result["writes_with_response"] is False  # NUS RX takes writes without response
    # BlueZ's exchanged MTU reached the chunker, and no write outgrew one ATT packet.
    assert result["att_mtu"] > 23
    assert 0 < result["device_write_sizes_max"] <= result["att_mtu"] - 3


def test_guest_job_exit_code_reflects_the_cases(vm_run: vm.VmRun) -> None:
    all_ok = all(
        vm_run.results.get(name, {}).get("ok")
        for name in ("bleak_central", "bluez_peripheral", "bleak_nus_bridge")
    )
    assert vm_run.exit_code == (0 if all_ok else 1), vm_run.console[-4000:]
