"""Applying an edge_dan accord to a bridged device: which terms concern it, under which id.

An accord's outcome names issues (``{"setpoint_c_x10": 215, "music": "jazz"}``); a device has
points (``setpoint``). ``DeviceBinding`` says which issue drives which point, so the agent applies
only the terms that concern this device and reports the device's acknowledgement. Only binding
accords (every signature in and valid) reach a device.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from edge_dan.bridge.link import BridgeError, SerialDevice
from edge_dan.negotiation.accords.accord import Accord


def accord_id(accord: Accord) -> bytes:
    """The 32-byte id a device stores for ``accord`` (``Accord.id``)."""
    return accord.id


@dataclass(frozen=True)
class AccordReceipt:
    """What the device acknowledged: the accord id and the point values it put in effect."""

    accord_id: bytes
    applied: Mapping[str, int]


@dataclass(frozen=True)
class DeviceBinding:
    """Issue names of accords mapped to point names of one device."""

    device: SerialDevice
    issue_to_point: Mapping[str, str]

    def concerns(self, accord: Accord) -> dict[str, int]:
        """The point values ``accord`` sets on this device (empty if it does not concern it)."""
        values: dict[str, int] = {}
        for issue, value in accord.outcome:
            point = self.issue_to_point.get(issue)
            if point is None:
                continue
            if not isinstance(value, int):
                raise BridgeError(f"issue {issue!r} is {value!r}; point {point!r} takes integers")
            values[point] = value
        return values

    def apply(self, accord: Accord) -> AccordReceipt | None:
        """Verify ``accord``, apply what concerns this device; None if nothing does."""
        accord.verify()
        values = self.concerns(accord)
        if not values:
            return None
        identifier = accord_id(accord)
        self.device.apply_accord(identifier, values)
        return AccordReceipt(identifier, values)
