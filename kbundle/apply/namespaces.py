"""The namespaces a level's objects go into: there, created, or known to be unusable.

A bundle exported with ``--include-cluster-resources=false`` holds no Namespace objects: the
namespaces its objects need but the destination lacks are created plainly, and waited for;
unless the import itself takes no cluster-scoped object (``create_namespaces`` off), when
each object of a missing namespace fails with the way out.
Namespaces the bundle does hold are waited for after their level. A namespace that could not
be created, or stays Terminating, fails each of its objects with the reason.

A user with rights in some namespaces only may not read the others (403): those cannot be
checked, so the import carries on and each object's own write says whether it is forbidden.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Container, Sequence

from kbundle.apply.options import ApplyOptions
from kbundle.apply.outage import Retrier, describe
from kbundle.apply.outcome import Action, Outcome
from kbundle.apply.waits import wait_for_namespaces
from kbundle.cluster import ApiError, ApiResource, Cluster
from kbundle.core.model import Object, ObjectRef
from kbundle.core.spool import heads_of

NAMESPACE = ("v1", "Namespace")  # (apiVersion, kind)

log = logging.getLogger(__name__)


class Namespaces:
    """What one import run knows about the destination's namespaces."""

    def __init__(self, cluster: Cluster, options: ApplyOptions, retrier: Retrier) -> None:
        self._cluster = cluster
        self._options = options
        self._retrier = retrier
        self._ready: set[str] = set()  # there, created, or in a level already applied
        self._unusable: dict[str, str] = {}  # namespace -> why its objects cannot go in
        self._exists: dict[str, bool] = {}
        self._lock = threading.Lock()

    def unusable(self, namespace: str) -> str | None:
        """Why objects cannot go into ``namespace``, or None when they may."""
        return self._unusable.get(namespace)

    def ensure(
        self, level: int, objects: Sequence[Object], record: Callable[[Outcome], None]
    ) -> None:
        """Create the namespaces ``objects`` need that neither the bundle nor the destination
        has; ``record`` gets an outcome for each one created or refused."""
        needed = sorted(
            {ref.namespace for _, ref in heads_of(objects) if ref.namespace} - self._ready
        )
        creating = self._options.create_namespaces
        if not needed or (self._options.dry and creating):
            self._ready.update(needed)
            return
        resource = self._resource()
        created = []
        for name in needed:
            self._ready.add(name)
            if self._exists_or_unreadable(name):
                continue
            if not creating:
                log.info("namespace %s does not exist, and creating it was not asked for", name)
                self._unusable[name] = (
                    f"namespace {name} does not exist, and --include-cluster-resources=false "
                    "creates no namespace: create it first, or import without that flag"
                )
                continue
            ref = ObjectRef("", "Namespace", "", name)
            log.info("namespace %s does not exist: creating it for the bundle's objects", name)
            try:
                self._retrier.call(
                    functools.partial(
                        self._cluster.apply,
                        resource,
                        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}},
                        field_manager=self._options.field_manager,
                    )
                )
            except ApiError as error:  # e.g. 403: this user may not create namespaces
                refused = describe(error)
                record(Outcome(level, ref, "v1", Action.FAIL, refused))
                self._unusable[name] = (
                    f"namespace {name} does not exist and could not be created: {refused}"
                )
                continue
            record(Outcome(level, ref, "v1", Action.CREATE, "created for objects of the bundle"))
            created.append(name)
        self._wait(created)

    def after_level(self, objects: Sequence[Object], failed: Container[ObjectRef]) -> list[str]:
        """Wait for the Namespaces this level wrote (not those in ``failed``: they will not
        become Active); return those that are not Active."""
        in_level = [
            ref for api_version, ref in heads_of(objects) if (api_version, ref.kind) == NAMESPACE
        ]
        self._ready.update(ref.name for ref in in_level)
        return self._wait([ref.name for ref in in_level if ref not in failed])

    def present(self, namespace: str) -> bool:
        """Does the namespace exist in the destination (asked once per namespace)?"""
        with self._lock:
            known = self._exists.get(namespace)
        if known is None:
            # may it not be read: cannot check, let the dry-run write answer
            known = self._exists_or_unreadable(namespace)
            with self._lock:
                self._exists[namespace] = known
        return known

    def _wait(self, names: list[str]) -> list[str]:
        inactive = wait_for_namespaces(self._cluster, names, self._options.wait_timeout)
        for name in inactive:
            self._unusable[name] = f"namespace {name} is not Active (Terminating?)"
        return inactive

    def _exists_or_unreadable(self, name: str) -> bool:
        """True unless the namespace is surely absent (403: cannot be checked)."""
        resource = self._resource()
        try:
            return self._retrier.call(lambda: self._cluster.get(resource, name)) is not None
        except ApiError as error:
            if error.status != 403:
                raise
            return True

    def _resource(self) -> ApiResource:
        resource = self._cluster.discovery().preferred_for("", "Namespace")
        assert resource is not None  # every apiserver serves namespaces
        return resource
