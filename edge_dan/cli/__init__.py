"""The ``edge-dan`` command."""
