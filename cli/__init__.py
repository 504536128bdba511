"""The ``modelward`` command line: one module per command group, output formats in ``formats``."""
