"""``python -m bulkpin``: the same command line as the ``bulkpin`` script."""

from .cli import main

main()
