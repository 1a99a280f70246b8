"""``python -m twin_conformance._vector_generation --out vectors``: write every vector."""

from __future__ import annotations

from twin_conformance._vector_generation import main

raise SystemExit(main())
