"""``runtree retention``, ``prune`` and ``storage`` on a database."""

from __future__ import annotations

import json

from runtree.store import Store

from ..store.store_helpers import deploy, make_step
from .conftest import Cli


def _runs(db_url: str, name: str, count: int, steps: int = 3) -> list[str]:
    with Store(db_url) as store:
        version = deploy(store, name)
        ids = []
        for _ in range(count):
            execution = store.enqueue_execution(
                version=version, trigger="api", input={}, versions={name: 1}
            )
            store.claim_execution(execution.id, "w")
            batch = [make_step(1)] + [make_step(i, parent_id=1) for i in range(2, steps + 1)]
            store.finish_execution(execution.id, status="succeeded", steps=batch)
            ids.append(execution.id)
        return ids


def test_policies_dry_run_prune_and_storage(cli: Cli, db_url: str) -> None:
    jobs = _runs(db_url, "job", 4)
    _runs(db_url, "other", 2)
    assert "everything is kept" in cli("retention", "show").stderr
    assert cli("retention", "set", "default", "--last", "1").stdout == (
        "executions of default: kept the newest 1 per function\n"
    )
    exempt = cli("retention", "set", "default/other", "--keep-all")
    assert exempt.stdout == "executions of default/other: kept forever\n"
    shown = cli("retention", "show", "--json")
    assert [(p["target"], p["keep_last"]) for p in json.loads(shown.stdout)] == [
        ("default", 1),
        ("default/other", None),
    ]

    dry = cli("prune", "--dry-run")
    assert dry.exit_code == 0, dry
    assert ["default/job", "default", "3", "9", "27", "B"] in [
        line.split() for line in dry.stdout.splitlines()
    ]
    assert "would prune 3 execution(s) (9 steps, 27 B of payloads)" in dry.stdout
    storage = json.loads(cli("storage", "--json").stdout)
    (namespace,) = storage["namespaces"]
    assert (namespace["executions"], namespace["steps"]) == (6, 18)

    done = cli("prune", "--json")
    report = json.loads(done.stdout)
    assert report["totals"] == {"executions": 3, "steps": 9, "payload_bytes": None}
    with Store(db_url) as store:
        assert [i for i in jobs if store.get_execution(i)] == jobs[-1:]
    table = cli("storage").stdout
    rows = {line.split()[0]: line.split()[1:] for line in table.splitlines() if line.strip()}
    assert rows["job"][:2] == ["1", "3"] and "last 1 (default)" in table
    assert rows["other"][:2] == ["2", "6"] and "kept forever (default/other)" in table
    assert "auto_vacuum incremental" in table

    assert cli("retention", "unset", "default/other").exit_code == 0
    missing = cli("retention", "unset", "default/other")
    assert missing.exit_code == 2 and "retention policy" in missing.stderr


def test_bad_policies_are_refused_naming_the_option(cli: Cli) -> None:
    nothing = cli("retention", "set", "shop")
    assert nothing.exit_code == 2 and "--days" in nothing.stderr
    both = cli("retention", "set", "shop", "--keep-all", "--days", "3")
    assert both.exit_code == 2 and "--keep-all" in both.stderr
    assert cli("retention", "set", "shop", "--days", "0").exit_code == 2
    bad_target = cli("retention", "set", "no such/thing", "--days", "3")
    assert bad_target.exit_code == 2 and "NAMESPACE/FUNCTION" in bad_target.stderr
    last_for_audit = cli("retention", "set", "--audit", "--last", "3")
    assert last_for_audit.exit_code == 2 and "by age only" in last_for_audit.stderr
    assert cli("retention", "set", "--audit", "--days", "100").exit_code == 0
    longer = cli("retention", "set", "--deliveries", "--days", "200")
    assert longer.exit_code == 2 and "kept longest" in longer.stderr
    assert "everything is kept" not in cli("retention", "show").stderr
