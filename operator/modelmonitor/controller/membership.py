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
        retry: timedelta = timedelta(seconds=1),
        give_up: timedelta = timedelta(seconds=10),
        settle: timedelta = timedelta(seconds=5),
    ) -> None:
        self.identity, self.namespace, self.sharded = identity, namespace, sharded
        self.duration, self.renew, self.retry, self.give_up, self.settle = duration, renew, retry, give_up, settle
        self.call_timeout = min(retry * 2, renew).total_seconds()  # a look after a failure: a retry and a call
        self.members: list[str] = []
        self._confirmed: datetime | None = None  # when our Lease was last renewed and the others' last read

    def owns(self, namespace: str, name: str) -> bool:
        return not self.sharded or owner_of(f"{namespace}/{name}", self.members) == self.identity

    async def run(
        self,
        kube: Kube,
        clock: Callable[[], datetime],
        changed: Changed,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        """Renew the Lease and look at the members every ``renew`` (``retry`` after a failure); tell ``changed``."""
        name = lease_name(self.identity)
        while True:
            moment = clock()
            members, looked = self.members, False
            try:
                # bounded: a call hung past the Lease's duration would let two replicas own a share
                await asyncio.wait_for(
                    asyncio.to_thread(kube.renew_lease, self.namespace, name, self.identity, self.duration, moment),
                    self.call_timeout,
                )
                views = await asyncio.wait_for(asyncio.to_thread(kube.member_leases, self.namespace), self.call_timeout)
                self._confirmed, looked = moment, True
                members = self._view(views, clock())
            except Exception as error:  # the API server away, RBAC lost: the loop must go on
                _log.error("shard membership: Lease %s/%s not renewed or read: %r", self.namespace, name, error)
            if self._confirmed is None or self._confirmed + self.give_up <= clock():
                members = []  # our Lease may go stale before another look: the others take our share then
            if members != self.members:
                before, self.members = self.members, members
                _log.info("shard members: %s (this replica: %s)", ", ".join(members) or "none", self.identity)
                try:
                    await changed(before, members)
                except Exception:  # taking a share up is best done again later; renewing must go on regardless
                    _log.exception("shard membership: acting on the change of members failed")
            await sleep((self.renew if looked else self.retry).total_seconds())

    def _view(self, views: list[LeaseView], moment: datetime) -> list[str]:
        """The members, as this replica counts them: itself only once every other has counted it or given up.

        The others count a new member after ``settle``; one that has not looked since has
        given its share up ``give_up`` after its last look, within ``duration``.
        """
        members = active_members(views, moment, self.settle)
        mine = next((view for view in views if view.holder == self.identity), None)
        if mine is None or mine.acquired + self.settle + self.duration > moment:
            return [member for member in members if member != self.identity]
        return members

    def leave(self, kube: Kube) -> None:
        """Give the share up at once (a clean shutdown) instead of after the Lease's duration."""
        kube.delete_lease(self.namespace, lease_name(self.identity))
