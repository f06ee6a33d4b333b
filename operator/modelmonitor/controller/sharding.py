"""Sharding: each replica of a sharded operator owns a disjoint share of the monitors, and takes over a dead one's.

Every replica holds a Lease (coordination.k8s.io) named after itself and renews it; the
members are the replicas whose Lease is fresh. A monitor belongs to the member that
rendezvous hashing picks for its namespace/name (Thaler and Ravishankar, 1998): the
highest hash of (member, monitor) wins, so when a member joins or leaves only the
monitors it gains or held move, and every replica computes the same owner from the same
members without talking to the others.

Timing, as client-go's leader election does it: a Lease lasts ``duration`` (15 s) and is
renewed every ``renew`` (5 s), tried again every second after a failure. A replica that
has not renewed its Lease and read the others' for ``give_up`` (10 s) gives its share up,
so it stops before its Lease goes stale and another takes over, clocks within a couple
of seconds of each other. The others count a new member once it has held its Lease for
``settle`` (5 s); the member counts itself only after ``settle + duration``, by when every
other has either counted it (and let go of its share) or given everything up: a share
may go without an owner for a few seconds, never with two. A member that dies is dropped
when its Lease goes stale, and its share is picked up on the others' next look, within
``duration + renew`` (20 s). A run's name is fixed by its slot, so even two owners at once
could not create a slot's run twice.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from modelmonitor.times import parse_iso

MEMBER_LABEL = "modelmonitor.io/shard-member"


def owner_of(key: str, members: Iterable[str]) -> str | None:
    """The member that owns ``key`` (namespace/name): the highest rendezvous hash, or None without members."""
    return max(members, key=lambda member: hashlib.sha256(f"{member}\0{key}".encode()).digest(), default=None)


@dataclass(frozen=True)
class LeaseView:
    """What a member's Lease says: who, since when it has held it, when it last renewed, for how long."""

    holder: str
    acquired: datetime
    renewed: datetime
    duration: timedelta


def lease_view(lease: Mapping[str, Any]) -> LeaseView | None:
    """A Lease object (as JSON) as a member's view, or None when it lacks a holder or its times."""
    spec = lease.get("spec") or {}
    if not spec.get("holderIdentity") or not spec.get("renewTime") or not spec.get("acquireTime"):
        return None
    return LeaseView(
        spec["holderIdentity"],
        parse_iso(spec["acquireTime"]),
        parse_iso(spec["renewTime"]),
        timedelta(seconds=int(spec.get("leaseDurationSeconds") or 0)),
    )


def active_members(leases: Iterable[LeaseView], now: datetime, settle: timedelta) -> list[str]:
    """The members that own monitors now: a Lease still fresh, and held for at least ``settle``."""
    return sorted(
        lease.holder for lease in leases if lease.renewed + lease.duration > now and lease.acquired + settle <= now
    )


def moved(
    keys: Iterable[str], identity: str, before: Iterable[str], after: Iterable[str]
) -> tuple[list[str], list[str]]:
    """The keys this member gains and loses when the members change from ``before`` to ``after``."""
    before, after = list(before), list(after)
    gained, lost = [], []
    for key in keys:
        was, now = owner_of(key, before) == identity, owner_of(key, after) == identity
        if now and not was:
            gained.append(key)
        elif was and not now:
            lost.append(key)
    return gained, lost


def shares(keys: Iterable[str], members: Iterable[str]) -> Mapping[str, int]:
    """How many keys each member owns (for the log, and for tests of the spread)."""
    members = list(members)
    counts = dict.fromkeys(members, 0)
    for key in keys:
        found = owner_of(key, members)
        if found is not None:
            counts[found] += 1
    return counts
