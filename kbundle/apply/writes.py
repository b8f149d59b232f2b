"""Writing one object: server-side apply, with what older servers and --existing need.

Every write is a server-side apply by the import's field manager, so the same import twice
changes nothing. Kubernetes 1.20's apply cannot type some valid objects: those are created or
replaced instead. With ``--existing=recreate``, an update the server refuses as immutable is
done by deleting the object and creating it again, but only once a dry-run create proved the
server would accept the replacement.
"""

from __future__ import annotations

import functools
import json
import logging
from dataclasses import dataclass

from kbundle.apply.options import ApplyOptions, DryRunMode, ExistingMode
from kbundle.apply.outage import Retrier
from kbundle.apply.waits import wait_until_gone
from kbundle.cluster import ApiError, ApiResource, Cluster
from kbundle.cluster.retry import apply_cannot_type
from kbundle.core.model import Object, ObjectRef

IMMUTABLE_MARKERS = (
    "immutable",
    "Forbidden: updates to",
    "may not change fields",
    "may not be changed",
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Written:
    """The server's answer to a write. Kept as the JSON it came in and decoded when first
    asked: an import of new objects needs few of them (an owner's UID, a diff's view)."""

    answer: bytes | Object  # the object as the server stored it (or would, in a dry run)
    recreated: str | None = None  # why the update was refused, if it was deleted and created

    @functools.cached_property
    def stored(self) -> Object:
        if isinstance(self.answer, bytes):
            decoded: Object = json.loads(self.answer)
            return decoded
        return self.answer


class Writer:
    """Writes objects into one cluster for one import run."""

    def __init__(self, cluster: Cluster, options: ApplyOptions, retrier: Retrier) -> None:
        self._cluster = cluster
        self._options = options
        self._retrier = retrier

    def write(self, resource: ApiResource, obj: Object, live: Object | None) -> Written:
        """Apply ``obj``; with --existing=recreate, replace an existing ``live`` object whose
        update the server refuses as immutable."""
        try:
            return self._applied(resource, obj)
        except ApiError as error:
            if not (
                self._options.existing is ExistingMode.RECREATE
                and live is not None
                and _immutable(error)
            ):
                raise
            return Written(self._recreate(resource, obj, error), recreated=error.server_message)

    def apply(self, resource: ApiResource, obj: Object) -> Object:
        """Server-side apply, with retries (a server dry run when the import is one)."""
        return self._applied(resource, obj).stored

    def _applied(self, resource: ApiResource, obj: Object) -> Written:
        return Written(self._retrier.call(functools.partial(self._apply, resource, obj)))

    def _apply(self, resource: ApiResource, obj: Object) -> bytes | Object:
        """One server-side apply: the server's answer, as it came."""
        dry_run = self._options.dry_run is DryRunMode.SERVER
        try:
            return self._cluster.apply_answer(
                resource,
                obj,
                field_manager=self._options.field_manager,
                force=self._options.force_conflicts,
                dry_run=dry_run,
            )
        except ApiError as error:
            if apply_cannot_type(error):
                return self._write_without_apply(resource, obj, dry_run)
            raise

    def _write_without_apply(self, resource: ApiResource, obj: Object, dry_run: bool) -> Object:
        """1.20's server-side apply cannot type some valid objects: create, or replace."""
        meta = obj["metadata"]
        live = self._cluster.get(resource, meta["name"], meta.get("namespace"))
        manager = self._options.field_manager
        if live is None:
            return self._cluster.create(resource, obj, field_manager=manager, dry_run=dry_run)
        replacement = {
            **obj,
            "metadata": {**meta, "resourceVersion": live["metadata"]["resourceVersion"]},
        }
        return self._cluster.replace(resource, replacement, field_manager=manager, dry_run=dry_run)

    def _recreate(self, resource: ApiResource, obj: Object, reason: ApiError) -> Object:
        """Delete and create again, but only if the apiserver would accept the new object:
        a dry-run create that fails with AlreadyExists passed validation (validation comes
        before the existence check), anything else means the live object must stay."""
        manager = self._options.field_manager
        try:
            self._cluster.create(resource, obj, field_manager=manager, dry_run=True)
        except ApiError as check:
            if check.status != 409:
                raise check from reason
        meta = obj["metadata"]
        log.info("%s: deleting it to create it again (--existing=recreate)", ObjectRef.of(obj))
        self._retrier.call(
            lambda: self._cluster.delete(resource, meta["name"], meta.get("namespace"))
        )
        timeout = self._options.wait_timeout
        if not wait_until_gone(
            self._cluster, resource, meta["name"], meta.get("namespace"), timeout
        ):
            raise ApiError(
                408,
                "Timeout",
                f"the old object was not gone after {timeout:.0f}s (finalizers?)",
                method="DELETE",
                path=resource.path(meta.get("namespace"), meta["name"]),
            )
        return self._retrier.call(lambda: self._cluster.apply(resource, obj, field_manager=manager))


def _immutable(error: ApiError) -> bool:
    return error.status == 422 and any(m in error.server_message for m in IMMUTABLE_MARKERS)
