"""The harness's own version, shown in reports and ``--version``."""

SUITE_VERSION = "0.1.0"
