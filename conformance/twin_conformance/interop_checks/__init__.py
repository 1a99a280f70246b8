"""The interop scenarios: pytest checks over a committee of clients and harness validators."""
