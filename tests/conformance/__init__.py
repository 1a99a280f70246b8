"""Self-tests of the conformance harness: run as a real command against real nodes."""
