"""``python -m kbundle`` runs the command line."""

from kbundle.cli import main

main()
