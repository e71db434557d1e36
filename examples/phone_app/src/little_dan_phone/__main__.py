"""``python -m little_dan_phone``: the app on this machine (Briefcase starts it the same way)."""

from little_dan_phone.app import main

main().main_loop()
