"""Tests of the executable spec, the spec documents, and the spec lint."""
