"""STAND-IN for Intel's habana_frameworks (tests only; see tests/standins/README.md)."""
