"""bleak and BlueZ for real: boot the blevm QEMU guest and check what its BLE scenario reports.

Slow (two minutes or more under software emulation) and needs root + apt on first use, so
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
CASES = ("bleak_central", "bluez_peripheral", "bleak_nus_bridge", "edge_dan_run_over_bluez")


@pytest.fixture(scope="module")
def vm_run() -> vm.VmRun:
    try:
        return vm.run_job([sys.executable, str(vm.SCENARIO)], timeout=600.0)
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


def test_edge_dan_run_over_bluez_pairs_and_negotiates_with_a_ble_only_partner(
    vm_run: vm.VmRun,
) -> None:
    """``edge-dan run --ble`` on BlueZ (bleak + our BlueZ peripheral) and an agent with no LAN:
    paired both ways by numeric comparison, one accord in both stores, BLE links only."""
    result = case(vm_run, "edge_dan_run_over_bluez")
    assert result["ok"], result
    assert result["run_networks"] == "lan,ble"  # its LAN is up (on lo), yet unused
    # Numeric comparison: the partner's owner was shown the digits pair --open printed.
    assert result["partner_codes"] == [result["run_code"]] and len(result["run_code"]) == 6
    assert result["runner_fingerprint"] == result["run_fingerprint"]
    assert (result["run_named"], result["partner_named"]) == ("Partner", "Runner")
    assert result["run_partners"] == ["Partner"] and result["partner_partners"] == ["Runner"]
    assert result["agreed"] is True
    assert result["run_accord_ids"] == result["partner_accord_ids"] == [result["cli_accord_id"]]
    assert result["accords_equal"] and result["accords_verify"]
    # Seen, paired and reached over BLE alone, on both sides.
    assert result["run_vias"] == ["ble"]
    assert result["offer_links"] == result["partner_links"] == ["ble"]
    events = result["run_events"]
    for event in ("pairing-completed", "partner-seen", "negotiation-agreed"):
        assert event in events, events
    assert result["run_exit"] == 0 and events[-1] == "stopped"  # SIGTERM: a clean stop


def test_guest_job_exit_code_reflects_the_cases(vm_run: vm.VmRun) -> None:
    all_ok = all(vm_run.results.get(name, {}).get("ok") for name in CASES)
    assert vm_run.exit_code == (0 if all_ok else 1), vm_run.console[-4000:]
