"""The ``xnat-upload`` command line: one module per sub-command, each a thin face over the core."""
