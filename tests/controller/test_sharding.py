"""Sharding: rendezvous shares (pure), and two real replicas that run every monitor once and take over a dead one's."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from modelmonitor.controller.sharding import LeaseView, active_members, lease_view, moved, owner_of, shares

KEYS = [f"team-{index % 7}/model-{index:04d}" for index in range(3000)]
NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


def test_every_key_has_one_owner_and_the_shares_are_even() -> None:
    counts = shares(KEYS, ["a", "b", "c"])
    assert sum(counts.values()) == len(KEYS)
    assert all(900 <= count <= 1100 for count in counts.values()), counts  # 1,000 each, ± 3 σ (≈ 26)
    assert owner_of("team-1/x", []) is None


def test_a_member_leaving_moves_only_its_own_keys() -> None:
    before, after = ["a", "b", "c"], ["a", "c"]
    for identity in ("a", "c"):
        gained, lost = moved(KEYS, identity, before, after)
        assert not lost
        assert all(owner_of(key, before) == "b" for key in gained)
    taken = sum(len(moved(KEYS, identity, before, after)[0]) for identity in ("a", "c"))
    assert taken == shares(KEYS, before)["b"]


def test_a_member_joining_takes_about_its_share_and_only_from_the_others() -> None:
    gained, lost = moved(KEYS, "d", ["a", "b", "c"], ["a", "b", "c", "d"])
    assert not lost and 650 <= len(gained) <= 850  # a quarter of 3,000
    for identity in ("a", "b", "c"):
        assert not moved(KEYS, identity, ["a", "b", "c"], ["a", "b", "c", "d"])[0]


def _lease(holder: str, acquired_ago: float, renewed_ago: float) -> LeaseView:
    return LeaseView(
        holder, NOW - timedelta(seconds=acquired_ago), NOW - timedelta(seconds=renewed_ago), timedelta(seconds=15)
    )


def test_members_are_the_fresh_leases_held_long_enough() -> None:
    leases = [_lease("old", 600, 2), _lease("new", 4, 1), _lease("dead", 600, 16), _lease("settled", 10, 0)]
    assert active_members(leases, NOW, timedelta(seconds=10)) == ["old", "settled"]


def test_a_lease_reads_from_its_json_and_one_without_times_is_no_member() -> None:
    spec = {
        "holderIdentity": "modelmonitor-1",
        "acquireTime": "2026-11-24T11:59:00.000000Z",
        "renewTime": "2026-11-24T11:59:58.500000Z",
        "leaseDurationSeconds": 15,
    }
    view = lease_view({"spec": spec})
    assert view == LeaseView(
        "modelmonitor-1", NOW - timedelta(seconds=60), NOW - timedelta(seconds=1.5), timedelta(seconds=15)
    )
    assert lease_view({"spec": {"holderIdentity": "x"}}) is None


class _Leases:
    """The Lease API as membership uses it, on a simulated clock; ``down`` makes every call fail."""

    def __init__(self, others: list[LeaseView]) -> None:
        self.others, self.mine, self.down = others, None, False

    def renew_lease(self, namespace: str, name: str, identity: str, duration: timedelta, now: datetime) -> None:
        if self.down:
            raise ConnectionRefusedError("the API server is away")
        fresh = self.mine is not None and self.mine.renewed + self.mine.duration > now
        self.mine = LeaseView(identity, self.mine.acquired if fresh else now, now, duration)

    def member_leases(self, namespace: str) -> list[LeaseView]:
        if self.down:
            raise ConnectionRefusedError("the API server is away")
        return [*self.others, self.mine]


def _simulate(leases: _Leases, until: float, events: dict[float, Callable[[], None]]) -> list[tuple[float, list[str]]]:
    """Run a member's loop on a simulated clock for ``until`` seconds; the times its members changed."""
    from modelmonitor.controller.membership import Membership

    clock = {"now": NOW}
    changes: list[tuple[float, list[str]]] = []
    membership = Membership("me", "ns", sharded=True)

    def elapsed() -> float:
        return (clock["now"] - NOW).total_seconds()

    async def changed(before: list[str], after: list[str]) -> None:
        changes.append((elapsed(), after))

    async def sleep(seconds: float) -> None:
        for moment in sorted(events):
            if elapsed() < moment <= elapsed() + seconds:
                events.pop(moment)()
        clock["now"] += timedelta(seconds=seconds)
        if elapsed() > until:
            raise asyncio.CancelledError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(membership.run(leases, lambda: clock["now"], changed, sleep))  # type: ignore[arg-type]
    return changes


def test_a_new_member_takes_its_share_only_after_the_others_have_let_it_go() -> None:
    other = LeaseView("other", NOW - timedelta(hours=1), NOW + timedelta(hours=1), timedelta(seconds=15))
    changes = _simulate(_Leases([other]), 40, {})
    # at once it counts the other; itself only after settle (5 s) + a Lease's duration (15 s)
    assert changes[0] == (0.0, ["other"])
    assert changes[1][1] == ["me", "other"] and 20 <= changes[1][0] <= 25


def test_a_member_cut_off_gives_its_share_up_before_its_lease_goes_stale() -> None:
    leases = _Leases([])
    changes = _simulate(leases, 120, {60.0: lambda: setattr(leases, "down", True)})
    joined, gave_up = changes[-2], changes[-1]
    assert joined[1] == ["me"] and gave_up[1] == []
    last_renewal = (leases.mine.renewed - NOW).total_seconds()
    assert last_renewal < 60 <= gave_up[0]
    assert gave_up[0] < last_renewal + 15  # before the others may count its Lease stale


def test_a_member_whose_lease_went_stale_joins_anew_when_it_is_back() -> None:
    leases = _Leases([])
    events = {60.0: lambda: setattr(leases, "down", True), 90.0: lambda: setattr(leases, "down", False)}
    changes = _simulate(leases, 150, events)
    back = next(change for change in changes if change[0] > 90 and change[1] == ["me"])
    assert back[0] >= 90 + 20  # not at once: another may hold its share until it has seen the Lease again


@pytest.mark.cluster
def test_two_replicas_run_each_monitor_once_and_one_takes_over_when_the_other_dies(
    start_operator, custom, namespace, samples
) -> None:
    from tests.controller.conftest import get_monitor, list_runs, monitor_document
    from tests.helpers import eventually

    names = [f"shard-{index:02d}" for index in range(12)]
    replicas = {
        identity: start_operator("--sharded", "--shard-identity", identity, "--shard-namespace", namespace)
        for identity in ("a", "b")
    }
    for name in names:
        document = monitor_document(samples, name)
        document["spec"]["schedule"] = {"interval": "1h"}
        custom.create_namespaced_custom_object("modelmonitor.io", "v1alpha1", namespace, "modelmonitors", document)

    def recorded(run_suffix: str) -> bool:
        return all(
            ((get_monitor(custom, namespace, name).get("status") or {}).get("lastRun") or {})
            .get("name", "")
            .endswith(run_suffix)
            for name in names
        )

    eventually(lambda: recorded("-g1"), timeout=120, what="every monitor's first run recorded")
    evaluated = {identity: _evaluated(operator.log.read_text(), namespace) for identity, operator in replicas.items()}
    every = evaluated["a"] + evaluated["b"]
    assert sorted(every) == sorted(f"{name}-g1" for name in names)  # each run evaluated once, by one replica
    assert evaluated["a"] and evaluated["b"], evaluated  # both had a share
    owners = {
        name: get_monitor(custom, namespace, name)["metadata"]["annotations"]["modelmonitor.io/shard-owner"]
        for name in names
    }
    for identity, runs in evaluated.items():
        assert all(owners[run.removesuffix("-g1")] == identity for run in runs)

    replicas["a"].kill()
    killed = time.monotonic()
    for name in names:
        custom.patch_namespaced_custom_object(
            "modelmonitor.io",
            "v1alpha1",
            namespace,
            "modelmonitors",
            name,
            {"metadata": {"annotations": {"modelmonitor.io/run-now": "after-the-kill"}}},
        )
    eventually(
        lambda: all(len(_runs_of(list_runs(custom, namespace), name)) == 2 for name in names),
        timeout=90,
        what="a run-now run for every monitor",
    )
    eventually(
        lambda: all(
            get_monitor(custom, namespace, name)["status"]["lastRun"]["name"] != f"{name}-g1" for name in names
        ),
        timeout=90,
    )
    taken_over = time.monotonic() - killed
    assert taken_over < 45, taken_over  # stated: a Lease's 15 s, a look's 5 s, and the run itself
    after = _evaluated(replicas["b"].log.read_text(), namespace)
    assert len([run for run in after if not run.endswith("-g1")]) == len(names)  # b ran them all, once each
    print(f"replica a's share ({len(evaluated['a'])} monitors) taken over and run in {taken_over:.1f} s")


def _runs_of(runs: list[dict], monitor: str) -> list[dict]:
    return [run for run in runs if run["spec"]["monitor"] == monitor]


def _evaluated(log: str, namespace: str) -> list[str]:
    return re.findall(rf"evaluating {re.escape(namespace)}/(\S+) \(", log)
