"""Run the twin-node command: ``python -m twin_reference serve ...``."""

from twin_reference._cli import main

# Guarded: the evaluate worker process (spawned, _offload.py) imports this module too.
if __name__ == "__main__":
    main()
