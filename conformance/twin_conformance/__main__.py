"""``python -m twin_conformance`` runs the CLI."""

from twin_conformance._cli import main

main()
