"""edge_dan: the Little Dan framework, a personal agent that runs on the owner's own device.

Importing this package is kept cheap on purpose (phones, Raspberry Pi start-up): heavy layers such
as the value model (onnxruntime), mDNS discovery (zeroconf) and the BLE backends (bleak, dbus-fast,
bumble) are imported only by the modules that use them.
"""

from edge_dan.errors import EdgeDanError

__all__ = ["EdgeDanError", "__version__"]
__version__ = "0.1.0"
