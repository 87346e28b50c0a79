"""The ``impact`` command line."""
