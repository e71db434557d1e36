"""Finding nearby agents: private rotating advertisements over mDNS and BLE, and a peer directory.

``tokens`` is the sans-IO core shared by both transports; ``mdns`` and ``ble`` adapt it to
zeroconf and to the BLE layer's backends (``edge_dan.ble``); ``directory`` merges what they see
into one entry per peer.
Importing this package loads neither zeroconf nor bleak.
"""
