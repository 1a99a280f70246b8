"""Tests of the executable spec core (twin_spec), including the public vector sets."""
