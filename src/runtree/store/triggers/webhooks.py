"""Webhooks: creating, reading, listing and deleting them; a webhook's secret is stored
sealed (:mod:`..sealed`)."""

from __future__ import annotations

import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from ...errors import ConflictError, NotFoundError
from ...models import WebhookRecord
from ..access import AuditEntry, add_audit
from ..schema import WebhookRow
from ..sealed import open_text, seal_text

# The sealed column (the column name is the associated data of each sealed value).
WEBHOOK_SECRET_FIELD = "webhooks.secret"


def create_webhook(
    session: Session,
    *,
    path: str,
    namespace: str,
    name: str,
    version: int | None,
    verify: str,
    secret: str | None,
    mode: str,
    sync_timeout_s: float,
    created_by: str | None,
    audit: AuditEntry | None,
    now: datetime.datetime,
) -> WebhookRecord:
    if session.scalar(select(WebhookRow.id).where(WebhookRow.path == path)) is not None:
        raise ConflictError("webhook", path, f"webhook path already in use: {path}")
    row = WebhookRow(
        path=path,
        namespace=namespace,
        name=name,
        version=version,
        verify=verify,
        secret=None if secret is None else seal_text(session, WEBHOOK_SECRET_FIELD, secret),
        mode=mode,
        sync_timeout_s=sync_timeout_s,
        created_at=now,
        created_by=created_by,
    )
    session.add(row)
    try:
        session.flush()
    except IntegrityError:  # a concurrent create of the same path
        raise ConflictError("webhook", path, f"webhook path already in use: {path}") from None
    if audit is not None:
        add_audit(session, audit, now)
    return webhook_record(session, row)


def get_webhook(session: Session, path: str) -> WebhookRecord | None:
    row = session.scalars(select(WebhookRow).where(WebhookRow.path == path)).first()
    return None if row is None else webhook_record(session, row)


def list_webhooks(session: Session, namespace: str | None) -> list[WebhookRecord]:
    stmt = select(WebhookRow)
    if namespace is not None:
        stmt = stmt.where(WebhookRow.namespace == namespace)
    return [webhook_record(session, row) for row in session.scalars(stmt.order_by(WebhookRow.path))]


def delete_webhook(
    session: Session, path: str, audit: AuditEntry | None, now: datetime.datetime
) -> WebhookRecord:
    row = session.scalars(
        select(WebhookRow).where(WebhookRow.path == path).with_for_update()
    ).first()
    if row is None:
        raise NotFoundError("webhook", path)
    record = webhook_record(session, row)
    session.delete(row)
    session.flush()
    if audit is not None:
        add_audit(session, audit, now)
    return record


def webhook_record(session: Session, row: WebhookRow) -> WebhookRecord:
    """The webhook, its secret opened (:mod:`..sealed`)."""
    return WebhookRecord(
        id=row.id,
        path=row.path,
        namespace=row.namespace,
        name=row.name,
        version=row.version,
        verify=row.verify,
        secret=None if row.secret is None else open_text(session, WEBHOOK_SECRET_FIELD, row.secret),
        mode=row.mode,
        sync_timeout_s=row.sync_timeout_s,
        created_at=row.created_at,
        created_by=row.created_by,
    )
