"""``python -m bridge ...``: the ``bridge`` command, for a shell where that name finds
another program first (iproute2's ``bridge`` is on most Linux systems)."""

from bridge.cli import main

main()
