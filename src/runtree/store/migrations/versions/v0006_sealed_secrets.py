"""Secrets at rest: webhook secrets, private inputs and schedules' secret inputs sealed

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05

Existing plaintext is sealed here, in the migration's transaction (all of it or none): webhook
secrets in place, private inputs into ``execution_private_inputs.sealed_input`` (the plain
``input`` column is dropped), and schedule inputs with secrets split into a redacted
``input`` and a sealed ``sealed_input``. The key comes from the keyring the store passes in
(``config.attributes["keyring"]``), else from the database's key source; it is only needed --
and a missing key file only created -- when there is plaintext to seal. On SQLite the
migration runs with ``secure_delete`` on, so the plaintext it replaces is overwritten in the
file, not left in free space (:func:`runtree.store.migrate.upgrade` then truncates the WAL).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The secret names of runtree.tracking.capture's default policy at this revision (a copy:
# migrations must not import code that later changes).
_SECRET = re.compile(
    r"password|passwd|secret|token|api[-_]?key|apikey|authorization|cookie|private[-_]?key",
    re.IGNORECASE,
)
_REDACTED = "[redacted]"


def upgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        connection.exec_driver_sql("PRAGMA secure_delete = ON")
    connection.info["keyring"] = _keyring(connection)
    try:
        _seal_webhook_secrets(connection)
        _seal_private_inputs(connection)
        _seal_schedule_inputs(connection)
    finally:
        connection.info.pop("keyring", None)
        if sqlite:
            connection.exec_driver_sql("PRAGMA secure_delete = OFF")


def downgrade() -> None:
    """Opens every sealed value again (the key is needed): plaintext, as before 0006."""
    connection = op.get_bind()
    connection.info["keyring"] = _keyring(connection)
    try:
        from runtree.store.sealed import is_sealed, open_json, open_text

        rows = connection.execute(sa.text("SELECT id, secret FROM webhooks")).all()
        for webhook_id, secret in rows:
            if is_sealed(secret):
                plain = open_text(connection, "webhooks.secret", secret)
                connection.execute(
                    sa.text("UPDATE webhooks SET secret = :s WHERE id = :id"),
                    {"s": plain, "id": webhook_id},
                )
        schedules = connection.execute(
            sa.text("SELECT id, sealed_input FROM schedules WHERE sealed_input IS NOT NULL")
        ).all()
        for schedule_id, sealed in schedules:
            plain = open_json(connection, "schedules.sealed_input", sealed)
            connection.execute(
                sa.text("UPDATE schedules SET input = :i WHERE id = :id"),
                {"i": json.dumps(plain), "id": schedule_id},
            )
        with op.batch_alter_table("schedules") as batch:
            batch.drop_column("sealed_input")
        private = connection.execute(
            sa.text("SELECT execution_id, sealed_input FROM execution_private_inputs")
        ).all()
        with op.batch_alter_table("execution_private_inputs") as batch:
            batch.add_column(sa.Column("input", sa.JSON(), nullable=True))
        for execution_id, sealed in private:
            plain = open_json(connection, "execution_private_inputs.sealed_input", sealed)
            connection.execute(
                sa.text("UPDATE execution_private_inputs SET input = :i WHERE execution_id = :e"),
                {"i": json.dumps(plain), "e": execution_id},
            )
        with op.batch_alter_table("execution_private_inputs") as batch:
            batch.alter_column("input", existing_type=sa.JSON(), nullable=False)
            batch.drop_column("sealed_input")
    finally:
        connection.info.pop("keyring", None)


def _keyring(connection: sa.Connection) -> Any:
    from runtree.store.master_key import KeySource
    from runtree.store.sealed import Keyring

    config = op.get_context().config
    given = None if config is None else config.attributes.get("keyring")
    if given is not None:
        return given
    url = connection.engine.url.render_as_string(hide_password=False)
    return Keyring(KeySource.for_database(url))


def _seal_webhook_secrets(connection: sa.Connection) -> None:
    from runtree.store.sealed import is_sealed, seal_text

    rows = connection.execute(
        sa.text("SELECT id, secret FROM webhooks WHERE secret IS NOT NULL")
    ).all()
    for webhook_id, secret in rows:
        if not is_sealed(secret):
            connection.execute(
                sa.text("UPDATE webhooks SET secret = :s WHERE id = :id"),
                {"s": seal_text(connection, "webhooks.secret", secret), "id": webhook_id},
            )


def _seal_private_inputs(connection: sa.Connection) -> None:
    from runtree.store.sealed import seal_json

    rows = connection.execute(
        sa.text("SELECT execution_id, input FROM execution_private_inputs")
    ).all()
    with op.batch_alter_table("execution_private_inputs") as batch:
        batch.add_column(sa.Column("sealed_input", sa.Text(), nullable=True))
    for execution_id, plain in rows:
        sealed = seal_json(connection, "execution_private_inputs.sealed_input", _json_value(plain))
        connection.execute(
            sa.text(
                "UPDATE execution_private_inputs SET sealed_input = :s WHERE execution_id = :e"
            ),
            {"s": sealed, "e": execution_id},
        )
    with op.batch_alter_table("execution_private_inputs") as batch:
        batch.alter_column("sealed_input", existing_type=sa.Text(), nullable=False)
        batch.drop_column("input")


def _seal_schedule_inputs(connection: sa.Connection) -> None:
    from runtree.store.sealed import seal_json

    with op.batch_alter_table("schedules") as batch:
        batch.add_column(sa.Column("sealed_input", sa.Text(), nullable=True))
    rows = connection.execute(sa.text("SELECT id, input FROM schedules")).all()
    for schedule_id, stored in rows:
        data = _json_value(stored)
        public, changed = _redacted(data)
        if changed:
            connection.execute(
                sa.text("UPDATE schedules SET input = :i, sealed_input = :s WHERE id = :id"),
                {
                    "i": json.dumps(public),
                    "s": seal_json(connection, "schedules.sealed_input", data),
                    "id": schedule_id,
                },
            )


def _json_value(stored: Any) -> Any:
    return json.loads(stored) if isinstance(stored, str) else stored


def _redacted(value: Any) -> tuple[Any, bool]:
    """``value`` with the values of secret-named keys redacted, at any depth."""
    if isinstance(value, dict):
        changed = False
        result = {}
        for key, item in value.items():
            if isinstance(key, str) and _SECRET.search(key):
                result[key] = _REDACTED
                changed = True
            else:
                result[key], inner = _redacted(item)
                changed = changed or inner
        return result, changed
    if isinstance(value, list):
        items = [_redacted(item) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    return value, False
