"""The defaults a user sees before setting anything: run limits, the database, the address.

A leaf module without imports, so that ``runtree --help`` can show them cheaply.
"""

# What an execution may use unless its version says otherwise (``runtree deploy --timeout
# --memory``): the one definition of the run defaults.
DEFAULT_TIMEOUT_S = 30.0
DEFAULT_MEMORY_MB = 512
# Where ``runtree serve`` listens and which database it and the CLI use unless told otherwise
# (here rather than in :mod:`runtree.settings` so that the CLI's help can show them without
# importing pydantic or the records of :mod:`runtree.models`).
DEFAULT_DATABASE_URL = "sqlite:///runtree.db"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
