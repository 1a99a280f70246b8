"""The conformance checks: pytest modules the plugin runs against a target, one per profile."""
