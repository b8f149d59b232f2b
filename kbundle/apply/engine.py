"""Replay a bundle's objects into a cluster: level by level, concurrently within a level.

This module composes one run; each concern is a module of its own: ``workers`` (threads that
Ctrl-C does not wait for), ``outage`` (retries, and when the import gives up), ``namespaces``,
``live`` (what exists), ``decide`` (what to do with each object), ``writes`` (server-side
apply) and ``owners`` (ownerReferences across levels). Every write is a server-side apply by
the field manager ``kbundle``, so running the same import twice changes nothing; objects
already as the bundle wants them are not even sent. When the destination stops answering for
longer than the retry timeout, the import stops early and says so. An interrupt (Ctrl-C) ends
the run at once: queued objects are dropped, retries end, and requests still in flight are
abandoned (each may or may not land). Either way, re-running the same command finishes the job.

A user whose rights cover only some namespaces can import: what kbundle cannot read to check
(namespaces, CRDs) is not checked, and each object the user may not write is reported as
forbidden on its own.
"""

from __future__ import annotations

import functools
import itertools
import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TypeVar

from kbundle.apply.decide import Verdict, after_write, decide, not_served
from kbundle.apply.live import LiveObjects, LiveView
from kbundle.apply.namespaces import Namespaces
from kbundle.apply.options import ApplyOptions
from kbundle.apply.outage import DestinationGone, Retrier, describe
from kbundle.apply.outcome import Action, Outcome, OutcomeTable
from kbundle.apply.owners import Owners
from kbundle.apply.pace import AdaptiveLimit
from kbundle.apply.prepare import clear_cluster_ips, rebuild_owner_references
from kbundle.apply.waits import wait_for_crds
from kbundle.apply.workers import Workers
from kbundle.apply.writes import Writer
from kbundle.cluster import ApiError, Cluster, KindNotServed, Unreachable
from kbundle.core.errors import UsageError
from kbundle.core.heads import Head
from kbundle.core.model import Object, ObjectRef, ProgressCallback, is_sealed, is_secret_object
from kbundle.core.progress import APPLYING, DRY_RUN, begin_phase
from kbundle.core.spool import heads_of

T = TypeVar("T")

log = logging.getLogger(__name__)
MAX_BATCH = 32  # objects per worker task


@dataclass(frozen=True)
class LevelObjects:
    number: int
    name: str
    objects: Sequence[Object]
    # The refs the objects' ownerReferences may point at (``owner_candidates``), when whoever
    # built the level knew them: the import then keeps the destination UIDs of those alone,
    # not of every object it writes. None: not known, every UID is kept.
    owners: frozenset[ObjectRef] | None = None
    # True when whoever built the level looked at every object and found no sealed Secret
    # (``refuse_sealed``): ``refuse_sealed_secrets`` then reads none of them from disk again.
    secrets_open: bool = False


@dataclass
class Observation:
    """What one object met in the destination, for those who compare rather than import
    (``kbundle diff``, preflight): the object as it would be sent, the live one, and the
    server's answer to the write (a server dry run's) or its refusal."""

    level: int
    ref: ObjectRef
    intended: Object  # as sent: cluster IPs cleared, ownerReferences rebuilt
    live: Object | None = None
    stored: Object | None = None  # the server's answer; None when nothing was sent
    verdict: Verdict | None = None  # None: the write failed (error) or was not attempted
    error: ApiError | Unreachable | None = None
    message: str = ""  # why it was not checked or not attempted, when it was not


Observer = Callable[[Observation], None]


class Importer:
    """One import run into one cluster."""

    def __init__(
        self,
        cluster: Cluster,
        options: ApplyOptions,
        progress: ProgressCallback | None = None,
        observer: Observer | None = None,
        known: LiveView | None = None,  # what a preflight just read: not listed again
    ) -> None:
        self.cluster = cluster
        self.options = options
        self.progress = progress
        self._observer = observer
        self.outcomes = OutcomeTable()  # columns: 40 bytes an object, not 200
        self._retrier = Retrier(options.retry_timeout)
        self._live = LiveObjects(cluster, self._retrier, known)
        self._writer = Writer(cluster, options, self._retrier)
        self._owners = Owners(self._live, self._writer, self._retrier)
        self._namespaces = Namespaces(cluster, options, self._retrier)
        # --parallel is the ceiling; the destination's answers set the pace below it
        self._pace = AdaptiveLimit(max(1, options.parallel))
        self._bundle_custom_kinds: set[tuple[str, str]] = set()  # (group, kind) of its CRDs
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0

    @property
    def gave_up(self) -> str | None:
        return self._retrier.gave_up

    # -- the run ----------------------------------------------------------------------------

    def run(self, levels: Sequence[LevelObjects]) -> OutcomeTable:
        refuse_sealed_secrets(levels)  # before any request
        begin_phase(self.progress, DRY_RUN if self.options.dry else APPLYING)
        self._total = sum(len(level.objects) for level in levels)
        if all(level.owners is not None for level in levels):
            self._owners.keep_only(frozenset().union(*(level.owners or () for level in levels)))
        self._bundle_custom_kinds = {
            (str(o["spec"].get("group")), str((o["spec"].get("names") or {}).get("kind")))
            for level in levels
            for o in _of_kind(level.objects, "apiextensions.k8s.io", "CustomResourceDefinition")
            if isinstance(o.get("spec"), dict)
        }
        workers = Workers(max(1, self.options.parallel))
        self.cluster.transport.listen(self._pace.heard)
        try:
            for level in levels:
                self._run_level(level, workers)
        except BaseException:
            # Ctrl-C (KeyboardInterrupt) or an error in this thread: the level's queued
            # objects are dropped already (Workers.map); end the running workers' retries
            # too, which would otherwise go on for up to the retry timeout.
            self._retrier.stop()
            raise
        finally:
            self.cluster.transport.unlisten(self._pace.heard)
            workers.close()
        return self.outcomes

    def _run_level(self, level: LevelObjects, workers: Workers) -> None:
        if self.gave_up:
            self._not_attempted(level)
            return
        log.info("level %d %s: %d objects", level.number, level.name, len(level.objects))
        try:
            self._namespaces.ensure(level.number, level.objects, self.outcomes.append)
            self._live.load(level.objects, workers)
        except DestinationGone:
            self._not_attempted(level)
            return
        # Objects go to the workers in small batches: one task per object cost more than
        # deciding that an unchanged object needs nothing (a re-import's usual case). The
        # level's last objects go one by one: a thread holding a last batch of writes would
        # otherwise keep the next level waiting while the others have nothing left to do.
        parallel = max(1, self.options.parallel)
        batch = max(1, min(MAX_BATCH, len(level.objects) // (4 * parallel)))
        items = zip(heads_of(level.objects), level.objects, strict=True)
        # Two batches a thread, one running and one waiting: with four, up to 2,048 objects
        # read from the spool were in memory at once (for 10,000 Deployments, 8 MiB more).
        results = workers.map(
            functools.partial(self._apply_batch, level.number),
            _batches(items, batch, single_after=len(level.objects) - batch * parallel),
            ahead=2,
        )
        with self._lock:
            for outcomes in results:
                self.outcomes.extend(outcomes)
        self._after_level(level)
        for ref, message in self._owners.resolve():
            self.outcomes.fail(ref, message)

    def _not_attempted(self, level: LevelObjects) -> None:
        log.info(
            "level %d %s: %d objects not attempted", level.number, level.name, len(level.objects)
        )
        reason = f"not attempted: {self.gave_up}"
        for api_version, ref in heads_of(level.objects):
            self._record_progress(ref)
            self.outcomes.append(Outcome(level.number, ref, api_version, Action.FAIL, reason))

    def _record_progress(self, ref: ObjectRef) -> None:
        with self._lock:
            self._done += 1
            done = self._done
        if self.progress is not None:
            self.progress(done, self._total, str(ref))

    # -- one object -------------------------------------------------------------------------

    def _apply_batch(self, level: int, items: Sequence[tuple[Head, Object]]) -> OutcomeTable:
        """A table, not a list: a level's batches are all kept until the level ends."""
        return OutcomeTable(self._apply_one(level, obj, head) for head, obj in items)

    def _apply_one(self, level: int, obj: Object, head: Head) -> Outcome:
        api_version, ref = head
        seen = Observation(level, ref, obj)
        try:
            with self._pace.slot():
                return self._decide_and_write(level, obj, ref, api_version, seen)
        except KindNotServed as error:
            crd_in_bundle = (ref.group, ref.kind) in self._bundle_custom_kinds
            decision = not_served(self.options, crd_in_bundle, error.message)
            log.debug("%s: %s, %s", ref, decision.verdict, decision.action)
            seen.verdict, seen.message = decision.verdict, decision.message
            return Outcome(level, ref, api_version, decision.action, decision.message)
        except DestinationGone:
            seen.message = f"not attempted: {self.gave_up}"
            return self._failed(level, ref, api_version, seen.message)
        except (ApiError, Unreachable) as error:
            seen.error = error
            return self._failed(level, ref, api_version, describe(error))
        finally:
            self._record_progress(ref)
            if self._observer is not None:
                self._observer(seen)

    def _failed(self, level: int, ref: ObjectRef, api_version: str, message: str) -> Outcome:
        log.debug("%s: failed: %s", ref, message)
        return Outcome(level, ref, api_version, Action.FAIL, message)

    def _decide_and_write(
        self, level: int, obj: Object, ref: ObjectRef, api_version: str, seen: Observation
    ) -> Outcome:
        unusable = self._namespaces.unusable(ref.namespace)
        if unusable is not None:
            seen.message = unusable
            return self._failed(level, ref, api_version, unusable)
        resource = self._live.resource(obj)
        if self._observer is None and self._live.settled(resource, ref):
            log.debug("%s: %s, %s (as the preflight found it)", ref, Verdict.SATISFIED, "unchanged")
            if not self.options.dry and self._owners.wants(ref):
                live = self._live.current(resource, ref)
                if live is not None:
                    self._owners.remember(ref, live)
            return Outcome(level, ref, api_version, Action.UNCHANGED)
        with_owners = clear_cluster_ips(obj)
        intended, pending = rebuild_owner_references(with_owners, self._owners.uid_of)
        live = self._live.current(resource, ref)
        seen.intended, seen.live = intended, live
        decision = decide(intended, live, self.options, self._namespaces.present)
        written = None
        if decision.verdict is Verdict.WRITE:
            written = self._writer.write(resource, intended, live)
            decision = after_write(live, written)
            if self._observer is not None:
                seen.stored = written.stored
        seen.verdict, seen.message = decision.verdict, decision.message
        log.debug("%s: %s, %s", ref, decision.verdict, decision.action)
        if not self.options.dry:
            stored = live
            if written is not None:  # decoded only when an owner's UID is wanted of it
                stored = written.stored if self._owners.wants(ref) else None
            if stored is not None:
                self._owners.remember(ref, stored)
            if pending:
                self._owners.defer(with_owners, pending)
        return Outcome(level, ref, api_version, decision.action, decision.message)

    # -- after a level: what it created must be ready before the next -----------------------

    def _after_level(self, level: LevelObjects) -> None:
        """Wait for the CRDs and namespaces this level wrote (not those that failed: a
        forbidden or invalid one will not become ready, waiting would only cost time)."""
        if self.options.dry:
            return
        failed = self.outcomes.failed_at(level.number)
        crds = [
            ref.name
            for _, ref in heads_of(level.objects)
            if (ref.group, ref.kind) == CRD and ref not in failed
        ]
        if crds:
            for name in wait_for_crds(self.cluster, crds, self.options.wait_timeout):
                self.outcomes.fail(
                    ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", name),
                    f"not Established within {self.options.wait_timeout:.0f}s",
                )
        for name in self._namespaces.after_level(level.objects, failed):
            self.outcomes.fail(ObjectRef("", "Namespace", "", name), "not Active (Terminating?)")


def refuse_sealed_secrets(levels: Sequence[LevelObjects]) -> None:
    """An encrypted Secret's envelope is no Secret: sending it would store a Secret without
    its data. Whoever skipped opening the Secrets is told so before anything is sent."""
    for level in levels:
        if not level.secrets_open:
            for obj in _of_kind(level.objects, "", "Secret"):
                refuse_sealed(obj)


def refuse_sealed(obj: Object) -> None:
    """``refuse_sealed_secrets`` for one object, as a level is built."""
    if is_secret_object(obj) and is_sealed(obj):
        raise UsageError(
            f"{ObjectRef.of(obj)} is still encrypted: open the bundle's Secrets first",
            hint="give the passphrase (--passphrase-file, --passphrase-env or $KBUNDLE_PASSPHRASE)",
        )


CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")


def _batches(
    items: Iterable[T], size: int, *, single_after: int | None = None
) -> Iterator[list[T]]:
    """``items`` in lists of ``size`` (itertools.batched, from Python 3.12); from item
    number ``single_after`` on, in lists of one."""
    iterator = iter(items)
    sent = 0
    while single_after is None or sent < single_after:
        room = size if single_after is None else min(size, single_after - sent)
        batch = list(itertools.islice(iterator, room))
        if not batch:
            return
        sent += len(batch)
        yield batch
    for item in iterator:
        yield [item]


def _of_kind(objects: Sequence[Object], group: str, kind: str) -> Iterator[Object]:
    """The objects of one kind, read (from a spool: from disk) only when they are of it."""
    for index in heads_of(objects).where(
        lambda _, of_group, of_kind, __: of_group == group and of_kind == kind
    ):
        yield objects[index]
