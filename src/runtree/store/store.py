"""The :class:`Store`: runtree's persistence API, a facade over one repository per area.

One object per process (it is thread-safe: every method runs in its own transaction on a
pooled connection). Every method returns plain frozen records from :mod:`runtree.models`,
never ORM objects. Lookups (``get_*``) return ``None`` and listings return ``[]`` for what does
not exist; operations on a named execution or version raise :class:`NotFoundError`; bad
arguments raise :class:`InvalidDataError` (a ``ValueError``); a uniqueness rule broken raises
:class:`ConflictError` (the store translates the database's errors). Serialized values
(``blob``) are stored and returned as ``bytes`` and never deserialized by the store.

The areas -- ``store.functions``, ``store.executions``, ``store.steps``, ``store.queries``,
``store.access``, ``store.triggers``, ``store.worlds``, ``store.retention``, ``store.shadow``,
``store.workers``
(:mod:`.repositories`) -- share one
:class:`~.database.Database`; the store's methods are theirs (``store.get_execution`` is
``store.executions.get_execution``).
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import Any, Concatenate, Generic, ParamSpec, Self, TypeVar, overload

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from . import migrate as migrations
from . import rotation
from .database import Database
from .engine import DEFAULT_URL, is_sqlite
from .master_key import KeySource
from .repositories import (
    AccessRepository,
    ExecutionRepository,
    FunctionRepository,
    QueryRepository,
    RetentionRepository,
    ShadowRepository,
    StepRepository,
    TriggerRepository,
    WorkerRepository,
    WorldRepository,
)
from .sealed import Keyring, check_keys

P = ParamSpec("P")
R = TypeVar("R")


class _Delegated(Generic[P, R]):
    """A store method that is one of its repositories': ``store.name(...)`` calls
    ``store.<area>.name(...)`` (same signature and docstring)."""

    def __init__(self, area: str, method: Callable[Concatenate[Any, P], R]) -> None:
        self.area = area
        self.name = method.__name__
        self.__doc__ = method.__doc__

    @overload
    def __get__(self, store: None, owner: type[Store]) -> Self: ...

    @overload
    def __get__(self, store: Store, owner: type[Store]) -> Callable[P, R]: ...

    def __get__(self, store: Store | None, owner: type[Store]) -> Self | Callable[P, R]:
        if store is None:
            return self
        method: Callable[P, R] = getattr(getattr(store, self.area), self.name)
        return method


class Store:
    """Functions, versions, executions and steps, access control and triggers, in SQLite or
    PostgreSQL.

    ``Store(url)`` connects and, unless ``migrate=False``, brings the schema to the newest
    migration (safe when several processes start at once). ``url`` is a SQLAlchemy URL;
    ``postgresql://`` (and ``postgres://``) use the psycopg 3 driver. Close the store with
    :meth:`close` or use it as a context manager.

    Secrets are stored sealed (:mod:`.sealed`) with the master keys of ``keys`` (default:
    ``RUNTREE_SECRET_KEY`` or the database's key file, :mod:`.master_key`), loaded when
    first needed; :meth:`check_secret_key` checks them up front.

    On PostgreSQL every queued execution is also a job of the Procrastinate queue, written
    in the transaction that queues it (:mod:`.jobs`); workers anywhere take it from there.
    ``job_queue=False`` turns that off for this store (benchmarks of the embedded queue on
    PostgreSQL; a deployment must not mix both). SQLite has no job queue.
    """

    def __init__(
        self,
        url: str | URL = DEFAULT_URL,
        *,
        migrate: bool = True,
        keys: KeySource | None = None,
        job_queue: bool | None = None,
    ) -> None:
        self._db = Database(url, keys, job_queue=job_queue)
        try:
            if migrate:
                migrations.upgrade(self._db.engine, keyring=self._db.keyring)
        except BaseException:
            self._db.close()
            raise
        self.functions = FunctionRepository(self._db)
        self.executions = ExecutionRepository(self._db)
        self.steps = StepRepository(self._db)
        self.queries = QueryRepository(self._db)
        self.access = AccessRepository(self._db)
        self.triggers = TriggerRepository(self._db)
        self.worlds = WorldRepository(self._db)
        self.retention = RetentionRepository(self._db)
        self.shadow = ShadowRepository(self._db)
        self.workers = WorkerRepository(self._db)

    @classmethod
    def open(
        cls, url: str | URL = DEFAULT_URL, *, migrate: bool = True, keys: KeySource | None = None
    ) -> Store:
        """Same as ``Store(url)``."""
        return cls(url, migrate=migrate, keys=keys)

    @property
    def keyring(self) -> Keyring:
        """The master keys that seal this database's secrets (:mod:`.sealed`)."""
        return self._db.keyring

    def check_secret_key(self) -> str | None:
        """Check now that this process can open the database's sealed secrets (creating the
        key file on the first start of a database that has none): a
        :class:`~runtree.errors.SecretKeyError` naming the problem otherwise. Returns the
        id of the key that seals new values (``None`` before anything was sealed)."""
        with self._db.reading() as session:
            return check_keys(session)

    def rotate_secret_key(
        self,
        *,
        batch_size: int = rotation.DEFAULT_BATCH,
        progress: Callable[[str, int], None] | None = None,
    ) -> rotation.RotationReport:
        """Re-encrypt every sealed secret under a new master key; safe to run again after an
        interruption, with servers running (:mod:`.rotation`)."""
        return rotation.rotate(self._db, batch_size=batch_size, progress=progress)

    def sealed_counts(self) -> dict[str, dict[str, int]]:
        """How many sealed values each key id seals, per field (``{key id: {field: n}}``)."""
        return rotation.sealed_counts(self._db)

    def close(self) -> None:
        """Close every pooled connection. The store must not be used afterwards."""
        self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    @property
    def url(self) -> str:
        """The database URL, password hidden."""
        return self._db.engine.url.render_as_string(hide_password=True)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for tests and maintenance; not for business logic)."""
        return self._db.engine

    @property
    def job_queue(self) -> bool:
        """Whether queued executions are jobs of the Procrastinate queue (PostgreSQL)."""
        return self._db.job_queue

    @property
    def is_sqlite(self) -> bool:
        """True on SQLite, False on PostgreSQL."""
        return is_sqlite(self._db.engine)

    def schema_revision(self) -> str | None:
        """The migration the database is at (``None`` if it has no schema yet)."""
        return migrations.current_revision(self._db.engine)

    # --- functions ----------------------------------------------------------------------------
    deploy_version = _Delegated("functions", FunctionRepository.deploy_version)
    get_function = _Delegated("functions", FunctionRepository.get_function)
    list_functions = _Delegated("functions", FunctionRepository.list_functions)
    list_versions = _Delegated("functions", FunctionRepository.list_versions)
    get_version = _Delegated("functions", FunctionRepository.get_version)
    require_version = _Delegated("functions", FunctionRepository.require_version)
    get_version_by_id = _Delegated("functions", FunctionRepository.get_version_by_id)
    get_versions = _Delegated("functions", FunctionRepository.get_versions)
    current_versions = _Delegated("functions", FunctionRepository.current_versions)
    current_version_numbers = _Delegated("functions", FunctionRepository.current_version_numbers)
    set_current_version = _Delegated("functions", FunctionRepository.set_current_version)

    # --- executions ---------------------------------------------------------------------------
    enqueue_execution = _Delegated("executions", ExecutionRepository.enqueue_execution)
    private_input = _Delegated("executions", ExecutionRepository.private_input)
    claim_next_execution = _Delegated("executions", ExecutionRepository.claim_next_execution)
    claim_next = _Delegated("executions", ExecutionRepository.claim_next)
    count_queued = _Delegated("executions", ExecutionRepository.count_queued)
    claim_execution = _Delegated("executions", ExecutionRepository.claim_execution)
    finish_execution = _Delegated("executions", ExecutionRepository.finish_execution)
    request_cancel = _Delegated("executions", ExecutionRepository.request_cancel)
    get_execution = _Delegated("executions", ExecutionRepository.get_execution)
    get_executions = _Delegated("executions", ExecutionRepository.get_executions)
    list_replays = _Delegated("executions", ExecutionRepository.list_replays)
    list_executions = _Delegated("executions", ExecutionRepository.list_executions)
    recover = _Delegated("executions", ExecutionRepository.recover)
    requeue_execution = _Delegated("executions", ExecutionRepository.requeue_execution)
    settle_lost_job = _Delegated("executions", ExecutionRepository.settle_lost_job)

    # --- workers ------------------------------------------------------------------------------
    register_worker = _Delegated("workers", WorkerRepository.register_worker)
    heartbeat_worker = _Delegated("workers", WorkerRepository.heartbeat_worker)
    unregister_worker = _Delegated("workers", WorkerRepository.unregister_worker)
    prune_workers = _Delegated("workers", WorkerRepository.prune_workers)
    list_workers = _Delegated("workers", WorkerRepository.list_workers)
    queue_depths = _Delegated("workers", WorkerRepository.queue_depths)

    # --- steps --------------------------------------------------------------------------------
    save_steps = _Delegated("steps", StepRepository.save_steps)
    get_steps = _Delegated("steps", StepRepository.get_steps)
    map_steps = _Delegated("steps", StepRepository.map_steps)
    get_step = _Delegated("steps", StepRepository.get_step)
    get_step_blob = _Delegated("steps", StepRepository.get_step_blob)

    # --- queries ------------------------------------------------------------------------------
    search_executions = _Delegated("queries", QueryRepository.search_executions)
    find_value = _Delegated("queries", QueryRepository.find_value)
    get_step_summaries = _Delegated("queries", QueryRepository.get_step_summaries)
    count_children = _Delegated("queries", QueryRepository.count_children)
    version_status_counts = _Delegated("queries", QueryRepository.version_status_counts)
    recent_durations = _Delegated("queries", QueryRepository.recent_durations)
    recent_execution_ids = _Delegated("queries", QueryRepository.recent_execution_ids)
    get_step_timings = _Delegated("queries", QueryRepository.get_step_timings)
    get_step_timings_within = _Delegated("queries", QueryRepository.get_step_timings_within)

    # --- access -------------------------------------------------------------------------------
    add_audit = _Delegated("access", AccessRepository.add_audit)
    list_audit = _Delegated("access", AccessRepository.list_audit)
    create_api_key = _Delegated("access", AccessRepository.create_api_key)
    bootstrap_admin_key = _Delegated("access", AccessRepository.bootstrap_admin_key)
    find_api_key = _Delegated("access", AccessRepository.find_api_key)
    get_api_key = _Delegated("access", AccessRepository.get_api_key)
    list_api_keys = _Delegated("access", AccessRepository.list_api_keys)
    revoke_api_key = _Delegated("access", AccessRepository.revoke_api_key)

    # --- triggers -----------------------------------------------------------------------------
    create_webhook = _Delegated("triggers", TriggerRepository.create_webhook)
    get_webhook = _Delegated("triggers", TriggerRepository.get_webhook)
    list_webhooks = _Delegated("triggers", TriggerRepository.list_webhooks)
    delete_webhook = _Delegated("triggers", TriggerRepository.delete_webhook)
    reject_delivery = _Delegated("triggers", TriggerRepository.reject_delivery)
    accept_delivery = _Delegated("triggers", TriggerRepository.accept_delivery)
    prune_idempotency_keys = _Delegated("triggers", TriggerRepository.prune_idempotency_keys)
    get_delivery = _Delegated("triggers", TriggerRepository.get_delivery)
    delivery_of_execution = _Delegated("triggers", TriggerRepository.delivery_of_execution)
    list_deliveries = _Delegated("triggers", TriggerRepository.list_deliveries)
    enqueue_spec = _Delegated("triggers", TriggerRepository.enqueue_spec)
    create_schedule = _Delegated("triggers", TriggerRepository.create_schedule)
    get_schedule = _Delegated("triggers", TriggerRepository.get_schedule)
    list_schedules = _Delegated("triggers", TriggerRepository.list_schedules)
    set_schedule_paused = _Delegated("triggers", TriggerRepository.set_schedule_paused)
    delete_schedule = _Delegated("triggers", TriggerRepository.delete_schedule)
    due_schedules = _Delegated("triggers", TriggerRepository.due_schedules)
    fire_schedule = _Delegated("triggers", TriggerRepository.fire_schedule)
    list_fires = _Delegated("triggers", TriggerRepository.list_fires)

    # --- worlds (deterministic replay) --------------------------------------------------------
    save_world = _Delegated("worlds", WorldRepository.save_world)
    get_world = _Delegated("worlds", WorldRepository.get_world)

    # --- shadow reports -----------------------------------------------------------------------
    recorded_runs = _Delegated("shadow", ShadowRepository.recorded_runs)
    create_shadow_report = _Delegated("shadow", ShadowRepository.create_shadow_report)
    get_shadow_report = _Delegated("shadow", ShadowRepository.get_shadow_report)
    list_shadow_reports = _Delegated("shadow", ShadowRepository.list_shadow_reports)
    shadow_runs = _Delegated("shadow", ShadowRepository.shadow_runs)
