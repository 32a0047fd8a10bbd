"""Rotating the master key: every sealed value re-encrypted under a new key.

:func:`rotate` works in steps that each leave the database readable by every process, so an
interrupted rotation (Ctrl-C, a crash, a lost connection) is finished by running it again:

1. **The new key.** With a key file holding one key, a new random key is written in front of
   it (``NEW`` then ``OLD``, atomically, mode 0600). With ``RUNTREE_SECRET_KEY``, the operator
   has put the new key first (``NEW,OLD``). A source that already holds more than one key
   resumes with its newest key: nothing new is generated.
2. **The active key** (:data:`.sealed.ACTIVE_KEY_FLAG`) becomes the new key, in one
   transaction. From then on every process seals new values with it (it is read in each
   sealing transaction; a process that does not hold it yet reads its key file again).
3. **Re-encryption**, in batches of ``batch_size`` rows, each its own transaction: every
   sealed value whose key id is not the new one is opened (with the key it names) and sealed
   again. Values sealed meanwhile already use the new key.
4. **The old key is dropped** from the key file once no value needs it (with
   ``RUNTREE_SECRET_KEY`` the report says it may be removed from the variable).

Between steps every value is sealed with the old key or the new one, and the key source
holds both, so servers keep running throughout.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, select, text, update
from sqlalchemy.orm import Session

from ..errors import SecretKeyError
from .common import table, upsert_insert, utcnow
from .database import Database
from .engine import is_sqlite
from .executions import PRIVATE_INPUT_FIELD
from .master_key import generate_key
from .schema import PrivateInputRow, ScheduleRow, ServerFlagRow, ValueHashKeyRow, WebhookRow
from .sealed import ACTIVE_KEY_FLAG, ENVELOPE, Keyring, active_key_id, key_id_of
from .triggers import SCHEDULE_INPUT_FIELD, WEBHOOK_SECRET_FIELD
from .value_index import VALUE_HASH_KEY_FIELD

DEFAULT_BATCH = 200


@dataclasses.dataclass(frozen=True)
class SealedColumn:
    """A column of sealed values: its table, primary key column, column and field name (the
    associated data of its values)."""

    table: Table
    key: str
    column: str
    field: str


SEALED_COLUMNS = (
    SealedColumn(table(WebhookRow), "id", "secret", WEBHOOK_SECRET_FIELD),
    SealedColumn(table(PrivateInputRow), "execution_id", "sealed_input", PRIVATE_INPUT_FIELD),
    SealedColumn(table(ScheduleRow), "id", "sealed_input", SCHEDULE_INPUT_FIELD),
    SealedColumn(table(ValueHashKeyRow), "id", "sealed_key", VALUE_HASH_KEY_FIELD),
)


@dataclasses.dataclass(frozen=True)
class RotationReport:
    """What :func:`rotate` did: the new key's id, the ids it replaced, how many values it
    re-encrypted per field, whether it generated the key, and whether old keys remain in the
    key source (``RUNTREE_SECRET_KEY``: the operator removes them)."""

    key_id: str
    replaced: tuple[str, ...]
    resealed: dict[str, int]
    generated: bool
    old_keys_remain: bool


def sealed_counts(db: Database) -> dict[str, dict[str, int]]:
    """How many sealed values each key id seals, per field."""
    counts: dict[str, dict[str, int]] = {}
    with db.reading() as session:
        for sealed in SEALED_COLUMNS:
            column = sealed.table.c[sealed.column]
            for (value,) in session.execute(select(column).where(column.is_not(None))):
                key_id = key_id_of(value)
                per_field = counts.setdefault(key_id, {})
                per_field[sealed.field] = per_field.get(sealed.field, 0) + 1
    return counts


def rotate(
    db: Database,
    *,
    batch_size: int = DEFAULT_BATCH,
    progress: Callable[[str, int], None] | None = None,
) -> RotationReport:
    """Re-encrypt every sealed value under a new master key (see the module docstring);
    ``progress(field, count)`` is called after each batch. :class:`SecretKeyError` when the
    key source cannot take a new key (an in-memory key; ``RUNTREE_SECRET_KEY`` holding one
    key only) or does not hold the keys the values need."""
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    source = db.keyring.source
    if not source.is_file and source.text is None:
        raise SecretKeyError("an in-memory database's key cannot be rotated")
    keys = source.master_keys()
    with db.reading() as session:
        active = active_key_id(session)
    if active is not None:
        db.keyring.key(active)  # the values sealed so far must open: fail before any change
    generated = False
    if len(keys) == 1:
        if source.is_file:
            source.write([generate_key(), *_file_lines(source)])
            keys = source.master_keys()
            generated = True
        else:
            raise SecretKeyError(
                "RUNTREE_SECRET_KEY holds one key: to rotate, put a new key in front of it "
                "(RUNTREE_SECRET_KEY=NEW,OLD; make one with `runtree secrets generate-key`), "
                "restart the servers with it, then run `runtree secrets rotate` again"
            )
    target = keys[0]
    replaced = tuple(key.key_id for key in keys[1:])
    db.write(lambda session: _activate(session, target.key_id))
    resealed: dict[str, int] = {}
    for sealed in SEALED_COLUMNS:
        total = 0
        while True:
            count = db.write(
                functools.partial(
                    _reseal_batch, sealed=sealed, key_id=target.key_id, limit=batch_size
                )
            )
            if not count:
                break
            total += count
            if progress is not None:
                progress(sealed.field, total)
        resealed[sealed.field] = total
    if is_sqlite(db.engine):
        # The old ciphertexts may remain in the WAL: copy it into the file (where
        # secure_delete zeroed them) and empty it (best effort while others read).
        with db.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    if source.is_file and len(keys) > 1:
        source.write([_file_lines(source)[0]])
    return RotationReport(
        key_id=target.key_id,
        replaced=replaced,
        resealed=resealed,
        generated=generated,
        old_keys_remain=not source.is_file and len(keys) > 1,
    )


def _activate(session: Session, key_id: str) -> None:
    session.execute(
        upsert_insert(session, table(ServerFlagRow))
        .values(name=ACTIVE_KEY_FLAG, value=key_id, created_at=utcnow())
        .on_conflict_do_nothing(index_elements=["name"])
    )
    session.execute(
        update(ServerFlagRow).where(ServerFlagRow.name == ACTIVE_KEY_FLAG).values(value=key_id)
    )


def _reseal_batch(session: Session, *, sealed: SealedColumn, key_id: str, limit: int) -> int:
    keyring = session.info["keyring"]
    sqlite = session.get_bind().dialect.name == "sqlite"
    if sqlite:  # overwrite the replaced values in the file, not just unlink them
        session.execute(text("PRAGMA secure_delete = ON"))
    try:
        return _reseal(session, keyring, sealed, key_id, limit)
    finally:
        if sqlite:
            session.execute(text("PRAGMA secure_delete = OFF"))


def _reseal(
    session: Session, keyring: Keyring, sealed: SealedColumn, key_id: str, limit: int
) -> int:
    column = sealed.table.c[sealed.column]
    key_column = sealed.table.c[sealed.key]
    rows: list[Any] = list(
        session.execute(
            select(key_column, column)
            .where(column.is_not(None), column.not_like(f"{ENVELOPE}.{key_id}.%"))
            .limit(limit)
            .with_for_update()
        )
    )
    new_key = keyring.key(key_id)
    for row_key, value in rows:
        plaintext = keyring.open(sealed.field, value)
        session.execute(
            update(sealed.table)
            .where(key_column == row_key)
            .values({sealed.column: keyring.seal(new_key, sealed.field, plaintext)})
        )
    return len(rows)


def _file_lines(source: Any) -> list[str]:
    """The key file's keys as written (base64), newest first."""
    assert source.path is not None
    return [line.strip() for line in source.path.read_text().splitlines() if line.strip()]
