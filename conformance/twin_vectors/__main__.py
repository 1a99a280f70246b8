"""``python -m twin_vectors --out vectors``: write every vector."""

from __future__ import annotations

from twin_vectors import main

raise SystemExit(main())
