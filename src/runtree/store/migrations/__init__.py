"""Alembic migrations of the store (``env.py``, ``versions/``); run by :mod:`..migrate`."""
