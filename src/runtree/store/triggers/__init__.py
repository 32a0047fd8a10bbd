"""Webhooks (with their deliveries and idempotency keys) and schedules (with their fire
times): plain functions over a session.

Starting an execution from a trigger is one transaction: the execution is queued together
with what guarantees it starts once -- the idempotency key of a webhook delivery, the
``(schedule_id, fire_time)`` row of a schedule -- so two server processes racing for the
same delivery or fire time start one execution between them.

One module per concept, all exported here: :mod:`.runs` (what a trigger queues, and queueing
it), :mod:`.webhooks`, :mod:`.deliveries` (a webhook's requests, and its idempotency keys)
and :mod:`.schedules` (with their fires).
"""

from .deliveries import (
    DeliveryData,
    accept_delivery,
    delivery_of_execution,
    delivery_record,
    get_delivery,
    list_deliveries,
    prune_idempotency_keys,
    reject_delivery,
)
from .runs import RunSpec, enqueue
from .schedules import (
    SCHEDULE_INPUT_FIELD,
    create_schedule,
    delete_schedule,
    due_schedules,
    fire_record,
    fire_schedule,
    get_schedule,
    list_fires,
    list_schedules,
    schedule_record,
    set_schedule_paused,
)
from .webhooks import (
    WEBHOOK_SECRET_FIELD,
    create_webhook,
    delete_webhook,
    get_webhook,
    list_webhooks,
    webhook_record,
)

__all__ = [
    "SCHEDULE_INPUT_FIELD",
    "WEBHOOK_SECRET_FIELD",
    "DeliveryData",
    "RunSpec",
    "accept_delivery",
    "create_schedule",
    "create_webhook",
    "delete_schedule",
    "delete_webhook",
    "delivery_of_execution",
    "delivery_record",
    "due_schedules",
    "enqueue",
    "fire_record",
    "fire_schedule",
    "get_delivery",
    "get_schedule",
    "get_webhook",
    "list_deliveries",
    "list_fires",
    "list_schedules",
    "list_webhooks",
    "prune_idempotency_keys",
    "reject_delivery",
    "schedule_record",
    "set_schedule_paused",
    "webhook_record",
]
