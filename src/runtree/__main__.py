"""`python -m runtree` is the `runtree` command."""

from .cli import main

main()
