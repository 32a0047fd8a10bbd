"""Retention policies: what one covers (:class:`Target`), checking and changing them (admin,
audited), and which policy applies to a function."""

from __future__ import annotations

import dataclasses

from ...errors import InvalidRetention
from ...models import EVERY_NAMESPACE, Permission, RetentionKind, RetentionPolicyRecord
from ...store import AuditEntry, Store
from ..access import Principal, authorize

MAX_KEEP_DAYS = 36_500
MAX_KEEP_LAST = 1_000_000_000


@dataclasses.dataclass(frozen=True, slots=True)
class Target:
    """What a policy covers (see :func:`parse_target`)."""

    kind: RetentionKind
    namespace: str = EVERY_NAMESPACE
    function: str = ""


def parse_target(text: str | None, kind: RetentionKind | str = RetentionKind.EXECUTIONS) -> Target:
    """``kind`` executions: ``text`` is ``*`` or ``None`` (every namespace), ``NS`` or
    ``NS/NAME``; deliveries and audit take no target. :class:`InvalidRetention` otherwise."""
    try:
        kind = RetentionKind(kind)
    except ValueError:
        allowed = ", ".join(k.value for k in RetentionKind)
        raise InvalidRetention("kind", f"kind must be one of {allowed}, got {kind!r}") from None
    if kind is not RetentionKind.EXECUTIONS:
        if text not in (None, "", EVERY_NAMESPACE):
            raise InvalidRetention(
                "target", f"{kind.value} have one policy for every namespace: give no target"
            )
        return Target(kind)
    if text in (None, "", EVERY_NAMESPACE):
        return Target(kind)
    namespace, slash, name = str(text).partition("/")
    if not namespace.isidentifier() or (slash and not name.isidentifier()):
        raise InvalidRetention(
            "target", f"expected *, NAMESPACE or NAMESPACE/FUNCTION (identifiers), got {text!r}"
        )
    return Target(kind, namespace, name)


def _check_limit(field: str, value: object, most: int) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= most:
        raise InvalidRetention(field, f"{field} must be a whole number from 1 to {most:,}")
    return value


def list_policies(store: Store, principal: Principal) -> list[RetentionPolicyRecord]:
    """Every policy (admin)."""
    authorize(principal, Permission.ADMIN)
    return store.retention.list_policies()


def set_policy(
    store: Store,
    principal: Principal,
    target: Target,
    *,
    keep_days: int | None,
    keep_last: int | None,
) -> RetentionPolicyRecord:
    """Create or replace the policy of ``target`` (admin; audited as ``retention.set``).
    Raises :class:`InvalidRetention` naming the parameter at fault."""
    authorize(principal, Permission.ADMIN)
    keep_days = _check_limit("keep_days", keep_days, MAX_KEEP_DAYS)
    keep_last = _check_limit("keep_last", keep_last, MAX_KEEP_LAST)
    if keep_last is not None and target.kind is not RetentionKind.EXECUTIONS:
        raise InvalidRetention("keep_last", f"{target.kind.value} are kept by age only")
    if target.kind is not RetentionKind.EXECUTIONS and keep_days is None:
        raise InvalidRetention(
            "keep_days", f"give keep_days (to keep {target.kind.value} forever, remove the policy)"
        )
    _check_audit_longest(store.retention.list_policies(), target, keep_days)
    return store.retention.set_policy(
        kind=target.kind,
        namespace=target.namespace,
        function=target.function,
        keep_days=keep_days,
        keep_last=keep_last,
        audit=AuditEntry(
            actor=principal.actor,
            action="retention.set",
            target=f"retention of {describe(target)}",
            namespace=_audit_namespace(target),
            details={"keep_days": keep_days, "keep_last": keep_last},
        ),
    )


def remove_policy(store: Store, principal: Principal, target: Target) -> RetentionPolicyRecord:
    """Remove the policy of ``target`` (admin; audited as ``retention.unset``): the next
    less specific policy applies, or none. :class:`NotFoundError` when there is none."""
    authorize(principal, Permission.ADMIN)
    return store.retention.delete_policy(
        kind=target.kind,
        namespace=target.namespace,
        function=target.function,
        audit=AuditEntry(
            actor=principal.actor,
            action="retention.unset",
            target=f"retention of {describe(target)}",
            namespace=_audit_namespace(target),
        ),
    )


def describe(target: Target) -> str:
    if target.kind is not RetentionKind.EXECUTIONS:
        return target.kind.value
    if target.namespace == EVERY_NAMESPACE:
        return "executions of every namespace"
    name = f"{target.namespace}/{target.function}" if target.function else target.namespace
    return f"executions of {name}"


def _audit_namespace(target: Target) -> str | None:
    return None if target.namespace == EVERY_NAMESPACE else target.namespace


def _check_audit_longest(
    policies: list[RetentionPolicyRecord], target: Target, keep_days: int | None
) -> None:
    """The audit log is kept longest: no period may be longer than the audit period."""
    if keep_days is None:
        return
    others = [
        p
        for p in policies
        if p.keep_days is not None
        and (p.kind, p.namespace, p.function) != (target.kind, target.namespace, target.function)
    ]
    if target.kind is RetentionKind.AUDIT:
        longest = max(others, key=lambda p: p.keep_days or 0, default=None)
        if longest is not None and longest.keep_days is not None and longest.keep_days > keep_days:
            raise InvalidRetention(
                "keep_days",
                f"the audit log is kept longest: {longest.target} keeps {longest.keep_days} "
                f"days, so the audit period must be at least that",
            )
        return
    audit = next((p for p in others if p.kind is RetentionKind.AUDIT), None)
    if audit is not None and audit.keep_days is not None and keep_days > audit.keep_days:
        raise InvalidRetention(
            "keep_days",
            f"the audit log is kept longest ({audit.keep_days} days): "
            f"keep_days must be at most that (or lengthen the audit period first)",
        )


def policy_for(
    policies: list[RetentionPolicyRecord], namespace: str, name: str
) -> RetentionPolicyRecord | None:
    """The executions policy of ``namespace/name``: its own, else its namespace's, else the
    one for every namespace, else ``None`` (keep everything)."""
    by_key = {(p.namespace, p.function): p for p in policies if p.kind is RetentionKind.EXECUTIONS}
    for key in ((namespace, name), (namespace, ""), (EVERY_NAMESPACE, "")):
        if key in by_key:
            return by_key[key]
    return None


def period(policies: list[RetentionPolicyRecord], kind: RetentionKind) -> int | None:
    """The ``keep_days`` of the policy of ``kind`` (deliveries, audit): ``None`` without one."""
    return next((p.keep_days for p in policies if p.kind is kind), None)
