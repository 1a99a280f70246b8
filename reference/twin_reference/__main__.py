"""Run the twin-node command: ``python -m twin_reference serve ...``."""

from twin_reference._cli import main

main()
