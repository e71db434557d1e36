"""Test tooling of the firmware bridge: the shared vector generator and the C-against-Python
differential fuzz. The bridge itself (codec, link, accords) is ``edge_dan.bridge``.
"""
