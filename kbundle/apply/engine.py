"""Replay a bundle's objects into a cluster: level by level, concurrently within a level.

Every write is a server-side apply by the field manager ``kbundle``, so running the same
import twice changes nothing. Objects already as the bundle wants them are not even sent
(see ``compare.py``). Transient failures are retried; when the destination stops answering
for longer than the retry timeout, the import stops early and says so; re-running the same
command finishes the job. An interrupt (Ctrl-C) ends the run at once: queued objects are
dropped, retries end, and requests still in flight are abandoned (each may or may not land);
re-running the same command finishes the job.

A user whose rights cover only some namespaces can import: what kbundle cannot read to check
(namespaces, CRDs) is not checked, and each object the user may not write is reported as
forbidden on its own.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kbundle.apply.compare import satisfied_by
from kbundle.apply.outcome import Action, Outcome
from kbundle.apply.prepare import PendingOwner, clear_cluster_ips, rebuild_owner_references
from kbundle.apply.waits import wait_for_crds, wait_for_namespaces, wait_until_gone
from kbundle.cluster import ApiError, ApiResource, Cluster, KindNotServed, Unreachable
from kbundle.cluster.retry import PERMANENT_500_MARKERS, is_transient, with_retries
from kbundle.model import Object, ObjectRef, ProgressCallback

IMMUTABLE_MARKERS = (
    "immutable",
    "Forbidden: updates to",
    "may not change fields",
    "may not be changed",
)
# Answers that mean "nobody is really there": a proxy or load balancer without a backend, or
# an apiserver that gave up waiting for etcd (504 after its --request-timeout). Like no answer
# at all, they count towards the shared outage that stops the import after the retry timeout.
NOT_ANSWERING_STATUSES = frozenset({502, 503, 504})
NAMESPACE = ("v1", "Namespace")  # (apiVersion, kind)
T = TypeVar("T")
A = TypeVar("A")


@dataclass(frozen=True)
class ImportOptions:
    existing: str = "update"  # update | skip | recreate
    force_conflicts: bool = False
    dry_run: str | None = None  # None | client | server
    parallel: int = 16
    wait_timeout: float = 60.0  # CRDs established, namespaces active, deletions finished
    retry_timeout: float = 120.0  # how long a destination may stay unreachable
    field_manager: str = "kbundle"


@dataclass(frozen=True)
class LevelObjects:
    number: int
    name: str
    objects: Sequence[Object]


class DestinationGone(Exception):
    """The destination stayed unreachable longer than the retry timeout."""


class _Interrupted(Exception):
    """The run is being interrupted: a worker stops before its next request."""


def not_answering(error: Exception) -> bool:
    """No answer, or an answer that only says no server is behind it (see above)."""
    if isinstance(error, Unreachable):
        return True
    return isinstance(error, ApiError) and error.status in NOT_ANSWERING_STATUSES


class _Reachability:
    """Shared across workers: one outage costs one retry timeout, not one per object."""

    def __init__(self, patience: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.patience = patience
        self._clock = clock
        self._down_since: float | None = None
        self.gave_up: str | None = None
        self._lock = threading.Lock()

    def failed(self, error: Exception) -> None:
        with self._lock:
            now = self._clock()
            if self._down_since is None:
                self._down_since = now
            elif now - self._down_since >= self.patience and self.gave_up is None:
                self.gave_up = (
                    f"the destination did not answer for {self.patience:.0f}s "
                    f"({error}); re-run the same command to finish the import"
                )

    def answered(self) -> None:
        with self._lock:
            self._down_since = None


class _Workers:
    """A fixed set of daemon threads for one import run.

    Unlike ThreadPoolExecutor's, these threads never hold the process at exit: after Ctrl-C
    the import ends at once even while requests hang (an apiserver waiting for a dead etcd
    holds them up to a minute). An abandoned request may or may not land; re-running the
    same command (server-side apply) makes that no matter.
    """

    def __init__(self, count: int) -> None:
        self._count = count
        self._tasks: queue.SimpleQueue[tuple[Future[Any], Callable[[], Any]] | None] = (
            queue.SimpleQueue()
        )
        for number in range(count):
            threading.Thread(target=self._work, name=f"kbundle-apply-{number}", daemon=True).start()

    def _work(self) -> None:
        while (task := self._tasks.get()) is not None:
            future, call = task
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(call())
            except BaseException as error:
                future.set_exception(error)

    def map(self, function: Callable[[A], T], items: Iterable[A]) -> list[T]:
        """``function`` over ``items`` concurrently, results in order. When the wait is
        interrupted (Ctrl-C), the items no worker has started yet are dropped."""
        futures: list[Future[T]] = []
        for item in items:
            future: Future[T] = Future()
            self._tasks.put((future, functools.partial(function, item)))
            futures.append(future)
        try:
            return [future.result() for future in futures]
        finally:
            for future in futures:
                future.cancel()  # only those still queued

    def close(self) -> None:
        """Let every thread end once it is done with its current task (never waits)."""
        for _ in range(self._count):
            self._tasks.put(None)


@dataclass
class _Deferred:
    obj: Object  # intended object, with every ownerReference (source UIDs)
    owners: list[PendingOwner] = field(default_factory=list)


class Importer:
    """One import run into one cluster."""

    def __init__(
        self, cluster: Cluster, options: ImportOptions, progress: ProgressCallback | None = None
    ) -> None:
        self.cluster = cluster
        self.options = options
        self.progress = progress
        self.outcomes: list[Outcome] = []
        self._uids: dict[ObjectRef, str] = {}
        self._live: dict[ObjectRef, Object] = {}
        self._live_unknown: set[tuple[str, str]] = set()  # (resource path, namespace)
        self._deferred: list[_Deferred] = []
        self._namespaces_ready: set[str] = set()
        self._namespaces_unusable: dict[str, str] = {}  # namespace -> why
        self._namespace_exists: dict[str, bool] = {}
        self._bundle_custom_kinds: set[tuple[str, str]] = set()  # (group, kind) of its CRDs
        self._reachability = _Reachability(options.retry_timeout)
        self._stopping = threading.Event()  # set on an interrupt: no more requests, no retries
        self._lock = threading.Lock()
        self._done = 0
        self._total = 0

    @property
    def gave_up(self) -> str | None:
        return self._reachability.gave_up

    # -- the run ----------------------------------------------------------------------------

    def run(self, levels: Sequence[LevelObjects]) -> list[Outcome]:
        self._total = sum(len(level.objects) for level in levels)
        self._bundle_custom_kinds = {
            (str(o["spec"].get("group")), str((o["spec"].get("names") or {}).get("kind")))
            for level in levels
            for o in level.objects
            if o.get("kind") == "CustomResourceDefinition" and isinstance(o.get("spec"), dict)
        }
        workers = _Workers(max(1, self.options.parallel))
        try:
            for level in levels:
                self._run_level(level, workers)
        except BaseException:
            # Ctrl-C (KeyboardInterrupt) or an error in this thread: the level's queued
            # objects are dropped already (_Workers.map); end the running workers' retries
            # too, which would otherwise go on for up to the retry timeout.
            self._stopping.set()
            raise
        finally:
            workers.close()
        return self.outcomes

    def _run_level(self, level: LevelObjects, workers: _Workers) -> None:
        if self.gave_up:
            self._not_attempted(level)
            return
        try:
            self._ensure_namespaces(level)
            self._load_live(level.objects, workers)
        except DestinationGone:
            self._not_attempted(level)
            return
        results = workers.map(functools.partial(self._apply_one, level.number), level.objects)
        with self._lock:
            self.outcomes += results
        self._after_level(level)
        self._resolve_deferred()

    def _not_attempted(self, level: LevelObjects) -> None:
        reason = f"not attempted: {self.gave_up}"
        for obj in level.objects:
            self._record_progress(obj)
            self.outcomes.append(
                Outcome(
                    level.number, ObjectRef.of(obj), str(obj.get("apiVersion")), Action.FAIL, reason
                )
            )

    def _record_progress(self, obj: Object) -> None:
        with self._lock:
            self._done += 1
            done = self._done
        if self.progress is not None:
            self.progress(done, self._total, str(ObjectRef.of(obj)))

    # -- one object -------------------------------------------------------------------------

    def _apply_one(self, level: int, obj: Object) -> Outcome:
        ref = ObjectRef.of(obj)
        api_version = str(obj.get("apiVersion", ""))
        try:
            return self._decide_and_write(level, obj, ref, api_version)
        except KindNotServed as error:
            if self.options.dry_run and (ref.group, ref.kind) in self._bundle_custom_kinds:
                return Outcome(
                    level,
                    ref,
                    api_version,
                    Action.CREATE if self.options.dry_run == "client" else Action.SKIP,
                    "its CRD is created by this import first",
                )
            return Outcome(level, ref, api_version, Action.FAIL, error.message)
        except DestinationGone:
            return Outcome(level, ref, api_version, Action.FAIL, f"not attempted: {self.gave_up}")
        except (ApiError, Unreachable) as error:
            return Outcome(level, ref, api_version, Action.FAIL, _describe(error))
        finally:
            self._record_progress(obj)

    def _decide_and_write(
        self, level: int, obj: Object, ref: ObjectRef, api_version: str
    ) -> Outcome:
        namespace = ref.namespace or None
        if namespace in self._namespaces_unusable:
            return Outcome(
                level, ref, api_version, Action.FAIL, self._namespaces_unusable[namespace]
            )
        resource = self._resource(obj)
        intended = clear_cluster_ips(obj)
        with_owners = intended
        intended, pending = rebuild_owner_references(intended, self._uid_of)
        live = self._current(resource, ref)

        def done(action: Action, message: str = "", stored: Object | None = None) -> Outcome:
            source = stored if stored is not None else live
            if source is not None and not self.options.dry_run:
                self._remember(ref, source)
            if pending and not self.options.dry_run:
                self._defer(with_owners, pending)
            return Outcome(level, ref, api_version, action, message)

        if live is not None and self.options.existing == "skip":
            return done(Action.SKIP, "exists; --existing=skip leaves it untouched")
        if live is not None and satisfied_by(intended, live):
            return done(Action.UNCHANGED)
        if self.options.dry_run == "client":
            return done(Action.CREATE if live is None else Action.UPDATE)
        if (
            self.options.dry_run == "server"
            and namespace
            and not self._namespace_present(namespace)
        ):
            return done(
                Action.SKIP, f"not checked: namespace {namespace} is created by this import first"
            )
        try:
            stored = self._write(resource, intended, live)
        except ApiError as error:
            if not (self.options.existing == "recreate" and live is not None and _immutable(error)):
                raise
            stored = self._recreate(resource, intended, error)
            return done(Action.UPDATE, f"deleted and created again: {error.server_message}", stored)
        if live is None:
            return done(Action.CREATE, stored=stored)
        unchanged = (stored.get("metadata") or {}).get("resourceVersion") == (
            live.get("metadata") or {}
        ).get("resourceVersion")
        return done(Action.UNCHANGED if unchanged else Action.UPDATE, stored=stored)

    # -- writes -----------------------------------------------------------------------------

    def _write(self, resource: ApiResource, obj: Object, live: Object | None) -> Object:
        dry_run = self.options.dry_run == "server"

        def apply() -> Object:
            try:
                return self.cluster.apply(
                    resource,
                    obj,
                    field_manager=self.options.field_manager,
                    force=self.options.force_conflicts,
                    dry_run=dry_run,
                )
            except ApiError as error:
                if error.status == 500 and any(
                    m in error.server_message for m in PERMANENT_500_MARKERS
                ):
                    return self._write_without_apply(resource, obj, dry_run)
                raise

        return self._retrying(apply)

    def _write_without_apply(self, resource: ApiResource, obj: Object, dry_run: bool) -> Object:
        """1.20's server-side apply cannot type some valid objects: create, or replace."""
        meta = obj["metadata"]
        live = self.cluster.get(resource, meta["name"], meta.get("namespace"))
        manager = self.options.field_manager
        if live is None:
            return self.cluster.create(resource, obj, field_manager=manager, dry_run=dry_run)
        replacement = {
            **obj,
            "metadata": {**meta, "resourceVersion": live["metadata"]["resourceVersion"]},
        }
        return self.cluster.replace(resource, replacement, field_manager=manager, dry_run=dry_run)

    def _recreate(self, resource: ApiResource, obj: Object, reason: ApiError) -> Object:
        """Delete and create again, but only if the apiserver would accept the new object:
        a dry-run create that fails with AlreadyExists passed validation (validation comes
        before the existence check), anything else means the live object must stay."""
        manager = self.options.field_manager
        try:
            self.cluster.create(resource, obj, field_manager=manager, dry_run=True)
        except ApiError as check:
            if check.status != 409:
                raise check from reason
        meta = obj["metadata"]
        self._retrying(lambda: self.cluster.delete(resource, meta["name"], meta.get("namespace")))
        if not wait_until_gone(
            self.cluster, resource, meta["name"], meta.get("namespace"), self.options.wait_timeout
        ):
            raise ApiError(
                408,
                "Timeout",
                f"the old object was not gone after {self.options.wait_timeout:.0f}s (finalizers?)",
                method="DELETE",
                path=resource.path(meta.get("namespace"), meta["name"]),
            )
        return self._retrying(lambda: self.cluster.apply(resource, obj, field_manager=manager))

    def _retrying(self, action: Callable[[], T]) -> T:
        def attempt() -> T:
            if self._stopping.is_set():
                raise _Interrupted
            return action()

        def transient(error: Exception) -> bool:
            if not_answering(error):
                self._reachability.failed(error)
            else:  # any other answer, even a refusal, shows the destination is there
                self._reachability.answered()
            return self.gave_up is None and _transient_on_import(error)

        def pause(seconds: float) -> None:
            self._stopping.wait(seconds)  # an interrupt ends the backoff at once

        if self.gave_up:
            raise DestinationGone
        try:
            result = with_retries(
                attempt,
                deadline_seconds=self.options.retry_timeout,
                transient=transient,
                sleep=pause,
            )
        except (ApiError, Unreachable) as error:
            if self.gave_up and not_answering(error):
                raise DestinationGone from None
            raise
        self._reachability.answered()
        return result

    # -- what exists ------------------------------------------------------------------------

    def _resource(self, obj: Object) -> ApiResource:
        try:
            return self.cluster.resource_for(obj)
        except KindNotServed:
            self.cluster.discovery(refresh=True)  # a CRD may have just been established
            return self.cluster.resource_for(obj)

    def _load_live(self, objects: Sequence[Object], workers: _Workers) -> None:
        """One list per kind and namespace instead of one read per object, concurrently."""
        wanted: dict[tuple[str, str], tuple[ApiResource, set[str]]] = {}
        for obj in objects:
            try:
                resource = self.cluster.resource_for(obj)
            except KindNotServed:
                continue
            ref = ObjectRef.of(obj)
            key = (resource.path(), ref.namespace)
            wanted.setdefault(key, (resource, set()))[1].add(ref.name)

        def listed(key: tuple[str, str]) -> tuple[tuple[str, str], list[Object] | None]:
            resource, namespace = wanted[key][0], key[1]
            try:
                return key, self._retrying(
                    functools.partial(
                        self.cluster.list_objects, resource, namespace=namespace or None
                    )
                )
            except (ApiError, Unreachable):
                return key, None

        for key, items in workers.map(listed, list(wanted)):
            if items is None:
                self._live_unknown.add(key)
                continue
            names = wanted[key][1]
            for item in items:
                if item["metadata"]["name"] in names:
                    self._live[ObjectRef.of(item)] = item

    def _current(self, resource: ApiResource, ref: ObjectRef) -> Object | None:
        if (resource.path(), ref.namespace) in self._live_unknown:
            result: Object | None = self._retrying(
                lambda: self.cluster.get(resource, ref.name, ref.namespace or None)
            )
            return result
        return self._live.get(ref)

    def _remember(self, ref: ObjectRef, stored: Object) -> None:
        uid = (stored.get("metadata") or {}).get("uid")
        if uid:
            with self._lock:
                self._uids[ref] = uid

    def _uid_of(self, ref: ObjectRef) -> str | None:
        with self._lock:
            return self._uids.get(ref)

    # -- levels: namespaces, CRDs, owners ---------------------------------------------------

    def _ensure_namespaces(self, level: LevelObjects) -> None:
        """Namespaces the bundle's objects need but neither it nor the destination has are
        created plainly (a bundle exported with --include-cluster-resources=false)."""
        needed = sorted(
            {
                str(o["metadata"]["namespace"])
                for o in level.objects
                if (o.get("metadata") or {}).get("namespace")
            }
            - self._namespaces_ready
        )
        if not needed or self.options.dry_run:
            self._namespaces_ready.update(needed)
            return
        resource = self._namespace_resource()
        created = []
        for name in needed:
            self._namespaces_ready.add(name)
            if self._namespace_exists_or_unreadable(name):
                continue
            ref = ObjectRef("", "Namespace", "", name)
            try:
                self._retrying(
                    functools.partial(
                        self.cluster.apply,
                        resource,
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                        field_manager=self.options.field_manager,
                    )
                )
            except ApiError as error:  # e.g. 403: this user may not create namespaces
                refused = _describe(error)
                self.outcomes.append(Outcome(level.number, ref, "v1", Action.FAIL, refused))
                self._namespaces_unusable[name] = (
                    f"namespace {name} does not exist and could not be created: {refused}"
                )
                continue
            self.outcomes.append(
                Outcome(level.number, ref, "v1", Action.CREATE, "created for objects of the bundle")
            )
            created.append(name)
        for name in wait_for_namespaces(self.cluster, created, self.options.wait_timeout):
            self._namespaces_unusable[name] = f"namespace {name} is not Active (Terminating?)"

    def _after_level(self, level: LevelObjects) -> None:
        """Wait for the CRDs and namespaces this level wrote (not those that failed: a
        forbidden or invalid one will not become ready, waiting would only cost time)."""
        if self.options.dry_run:
            return
        failed = {
            o.ref for o in self.outcomes if o.level == level.number and o.action is Action.FAIL
        }
        written = [o for o in level.objects if ObjectRef.of(o) not in failed]
        crds = [
            o["metadata"]["name"] for o in written if o.get("kind") == "CustomResourceDefinition"
        ]
        if crds:
            for name in wait_for_crds(self.cluster, crds, self.options.wait_timeout):
                self._mark_failed(
                    ObjectRef("apiextensions.k8s.io", "CustomResourceDefinition", "", name),
                    f"not Established within {self.options.wait_timeout:.0f}s",
                )
        in_level = [
            ObjectRef.of(o)
            for o in level.objects
            if (o.get("apiVersion"), o.get("kind")) == NAMESPACE
        ]
        self._namespaces_ready.update(ref.name for ref in in_level)
        namespaces = [ref.name for ref in in_level if ref not in failed]
        for name in wait_for_namespaces(self.cluster, namespaces, self.options.wait_timeout):
            self._mark_failed(ObjectRef("", "Namespace", "", name), "not Active (Terminating?)")
            self._namespaces_unusable[name] = f"namespace {name} is not Active (Terminating?)"

    def _defer(self, obj: Object, owners: list[PendingOwner]) -> None:
        with self._lock:
            self._deferred.append(_Deferred(obj=obj, owners=owners))

    def _resolve_deferred(self) -> None:
        """Re-apply dependants whose owners now exist, with the owners' new UIDs."""
        still_waiting = []
        for item in self._deferred:
            if any(
                self._uid_of(o.ref) is None
                and self._uid_of(ObjectRef(o.ref.group, o.ref.kind, "", o.ref.name)) is None
                for o in item.owners
            ):
                still_waiting.append(item)
                continue
            ref = ObjectRef.of(item.obj)
            try:
                resource = self._resource(item.obj)
                intended, missing = rebuild_owner_references(
                    clear_cluster_ips(item.obj), self._uid_of
                )
                if not missing:
                    self._write(resource, intended, None)
            except (ApiError, Unreachable, KindNotServed, DestinationGone) as error:
                why = f"not attempted: {self.gave_up}" if self.gave_up else _describe(error)
                self._mark_failed(ref, f"ownerReferences not restored: {why}")
        self._deferred = still_waiting

    def _mark_failed(self, ref: ObjectRef, message: str) -> None:
        """Turn an object's recorded outcome into a failure found after it was applied."""
        for index, outcome in enumerate(self.outcomes):
            if outcome.ref == ref:
                self.outcomes[index] = Outcome(
                    outcome.level, ref, outcome.api_version, Action.FAIL, message
                )

    def _namespace_present(self, namespace: str) -> bool:
        """Does the namespace exist in the destination (asked once per namespace)?"""
        with self._lock:
            known = self._namespace_exists.get(namespace)
        if known is None:
            # may it not be read: cannot check, let the dry-run write answer
            known = self._namespace_exists_or_unreadable(namespace)
            with self._lock:
                self._namespace_exists[namespace] = known
        return known

    def _namespace_exists_or_unreadable(self, name: str) -> bool:
        """True unless the namespace is surely absent. A user with rights in some namespaces
        only may not read the others (403): that cannot be checked, so the import carries
        on and each object's own write says whether it is forbidden."""
        resource = self._namespace_resource()
        try:
            return self._retrying(lambda: self.cluster.get(resource, name)) is not None
        except ApiError as error:
            if error.status != 403:
                raise
            return True

    def _namespace_resource(self) -> ApiResource:
        resource = self.cluster.discovery().preferred_for("", "Namespace")
        assert resource is not None  # every apiserver serves namespaces
        return resource


def _transient_on_import(error: Exception) -> bool:
    if is_transient(error):
        return True
    # A Pod created right after its namespace may wait for the ServiceAccount token.
    return (
        isinstance(error, ApiError)
        and "service account" in error.server_message.lower()
        and "retry" in error.server_message.lower()
    )


def _immutable(error: ApiError) -> bool:
    return error.status == 422 and any(m in error.server_message for m in IMMUTABLE_MARKERS)


def _describe(error: Exception) -> str:
    if isinstance(error, ApiError):
        return f"{error.status} {error.reason}: {error.server_message}"
    return str(error)
