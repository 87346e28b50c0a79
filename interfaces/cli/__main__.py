"""``python -m interfaces.cli`` runs the ``impact`` command."""

from interfaces.cli.main import main

main()
