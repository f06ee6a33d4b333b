"""A sharded replica's Lease, renewed, and its view of the members: which monitors it owns (see ``sharding``)."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from modelmonitor.controller.kube import Kube
from modelmonitor.controller.sharding import LeaseView, active_members, owner_of

_log = logging.getLogger(__name__)
LEASE_PREFIX = "modelmonitor-member-"
Changed = Callable[[list[str], list[str]], Awaitable[None]]  # (members before, members after)


def lease_name(identity: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", identity.lower()).strip("-")
    return (LEASE_PREFIX + cleaned)[:253]


class Membership:
    """Whether this replica owns a monitor: always when not sharded, else by the fresh, settled Leases."""

    def __init__(
        self,
        identity: str,
        namespace: str,
        *,
        sharded: bool,
        duration: timedelta = timedelta(seconds=15),
        renew: timedelta = timedelta(seconds=5),
        settle: timedelta = timedelta(seconds=10),
    ) -> None:
        self.identity, self.namespace, self.sharded = identity, namespace, sharded
        self.duration, self.renew, self.settle = duration, renew, settle
        self.members: list[str] = []
        self._renewed: datetime | None = None  # our last successful renewal

    def owns(self, namespace: str, name: str) -> bool:
        return not self.sharded or owner_of(f"{namespace}/{name}", self.members) == self.identity

    async def run(self, kube: Kube, clock: Callable[[], datetime], changed: Changed) -> None:
        """Renew the Lease and look at the members every ``renew``, calling ``changed`` when they change."""
        name, limit = lease_name(self.identity), self.renew.total_seconds()
        while True:
            moment = clock()
            members = self.members
            try:
                # bounded: a call hung past the Lease's duration would let two replicas own a share
                await asyncio.wait_for(
                    asyncio.to_thread(kube.renew_lease, self.namespace, name, self.identity, self.duration, moment),
                    limit,
                )
                self._renewed = moment
                views = await asyncio.wait_for(asyncio.to_thread(kube.member_leases, self.namespace), limit)
                members = self._view(views, clock())
            except Exception as error:  # the API server away, RBAC lost: the loop must go on
                _log.error("shard membership: Lease %s/%s not renewed or read: %r", self.namespace, name, error)
            if self._renewed is None or self._renewed + self.duration - self.renew <= clock():
                members = []  # our Lease goes stale before the next look: the others take our share then
            if members != self.members:
                before, self.members = self.members, members
                _log.info("shard members: %s (this replica: %s)", ", ".join(members) or "none", self.identity)
                await changed(before, members)
            await asyncio.sleep(limit)

    def _view(self, views: list[LeaseView], moment: datetime) -> list[str]:
        """The members, as this replica counts them: itself only once every other has had a look at it.

        The others count a new member after ``settle``; it counts itself ``renew`` later,
        so they have let go of its share before it takes it up (a gap, never two owners).
        """
        members = active_members(views, moment, self.settle)
        mine = next((view for view in views if view.holder == self.identity), None)
        if mine is None or mine.acquired + self.settle + self.renew > moment:
            return [member for member in members if member != self.identity]
        return members

    def leave(self, kube: Kube) -> None:
        """Give the share up at once (a clean shutdown) instead of after the Lease's duration."""
        kube.delete_lease(self.namespace, lease_name(self.identity))
