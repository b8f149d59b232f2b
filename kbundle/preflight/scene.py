"""What every check reads, gathered once: the bundle's objects as import would send them, how
the destination serves their kinds, its namespaces, and the objects it already has.

Reading costs one namespace list and one list per kind and namespace that exists (a fresh
destination costs nothing more: its namespaces do not exist yet); where a list is refused,
each object is read on its own, as import does. Each request is retried like import's
(transient failures, for up to the retry timeout); what the user may not read is unknown,
never guessed absent.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from kbundle.apply.compare import satisfied_by
from kbundle.apply.engine import LevelObjects
from kbundle.apply.live import LiveView, read_into
from kbundle.apply.live_copies import BundleCopies
from kbundle.apply.options import ApplyOptions, ExistingMode
from kbundle.apply.prepare import clear_cluster_ips, rebuild_owner_references
from kbundle.apply.workers import Workers
from kbundle.cluster import ApiError, ApiResource, Cluster
from kbundle.cluster.retry import with_retries
from kbundle.core.heads import HeadTable, RefIndex
from kbundle.core.kinds import NAMESPACE
from kbundle.core.model import Object, ObjectRef, ProgressCallback
from kbundle.core.positional import Positional
from kbundle.core.progress import READING_DESTINATION, Tally, begin_phase
from kbundle.core.spool import heads_of
from kbundle.preflight.model import Code, Finding, Severity

T = TypeVar("T")
CRD: tuple[str, str] = ("apiextensions.k8s.io", "CustomResourceDefinition")
METADATA_ONLY = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
PAGE = 500


@dataclass(frozen=True)
class KindInfo:
    """How one apiVersion/kind of the bundle will be served: by the destination now
    (``resource``), or by a CRD the bundle brings (``resource`` is None)."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    resource: ApiResource | None

    @property
    def group_resource(self) -> str:
        """``deployments.apps``, ``configmaps``: as quotas and access reviews name it."""
        return f"{self.plural}.{self.group}" if self.group else self.plural


class Planned:
    """One object of the bundle, as import would send it (cluster IPs cleared unless mapped).

    ``stored`` is the object, or the spool that holds it at ``index``: a bundle's objects
    stay on disk (``ObjectSpool``) and only their refs in memory, so each check reads what
    it looks at. The scene makes these as a check iterates it (``Bundled``) and keeps none:
    one per object, with its reader and index, was 14 MiB at 100,000 objects. Read-only by
    convention; a plain class, as it is made once per object per check."""

    __slots__ = ("_index", "_stored", "api_version", "level", "position", "ref")

    def __init__(
        self,
        level: int,
        ref: ObjectRef,
        stored: Object | Sequence[Object],
        api_version: str = "",
        index: int = -1,
        *,
        position: int = -1,  # in the whole bundle, when known
    ) -> None:
        self.level = level
        self.ref = ref
        self.position = position
        self._stored = stored
        self._index = index
        if not api_version and isinstance(stored, dict):
            api_version = str(stored.get("apiVersion", ""))
        self.api_version = api_version

    @property
    def obj(self) -> Object:
        stored = self._stored
        if isinstance(stored, dict):
            return stored
        return clear_cluster_ips(stored[self._index])

    @property
    def labels(self) -> dict[str, str]:
        return dict((self.obj.get("metadata") or {}).get("labels") or {})

    def __repr__(self) -> str:
        return f"Planned({self.level}, {self.ref})"


class Bundled(Positional[Planned]):
    """The bundle's objects by level, as ``Planned``, made when asked from each level's
    heads (apiVersion and ref, in memory already)."""

    def __init__(self, levels: Sequence[LevelObjects]) -> None:
        self._levels = [(level.number, level.objects, heads_of(level.objects)) for level in levels]
        self._length = sum(len(heads) for _, _, heads in self._levels)

    def __len__(self) -> int:
        return self._length

    def __iter__(self) -> Iterator[Planned]:
        position = 0
        for number, objects, heads in self._levels:
            for index, (api_version, ref) in enumerate(heads):
                yield Planned(number, ref, objects, api_version, index, position=position)
                position += 1

    def refs(self) -> Iterator[ObjectRef]:
        """Each object's ref, in order, without its ``Planned``."""
        for _, _, heads in self._levels:
            for _, ref in heads:
                yield ref

    def shared(self) -> list[tuple[str, str, str, str]]:
        """The distinct (apiVersion, group, kind, namespace) of the bundle's objects, first
        seen first: for the passes about kinds and namespaces, a few dozen where the bundle
        holds thousands of objects."""
        found: dict[tuple[str, str, str, str], None] = {}
        for _, _, heads in self._levels:
            found.update(dict.fromkeys(heads.shared()))
        return list(found)

    def where(self, keep: Callable[[str, str, str, str], bool]) -> Iterator[Planned]:
        """The objects whose apiVersion, group, kind and namespace ``keep`` takes (asked
        once for each distinct four); no ``Planned`` is made for the others."""
        start = 0
        for number, objects, heads in self._levels:
            for at in heads.where(keep):
                api_version, ref = heads[at]
                yield Planned(number, ref, objects, api_version, at, position=start + at)
            start += len(heads)

    def of_kind(self, group: str, kind: str) -> Iterator[Planned]:
        return self.where(lambda _, of_group, of_kind, __: (of_group, of_kind) == (group, kind))

    def ref_at(self, position: int) -> ObjectRef:
        """``self[position].ref``, without making the ``Planned``."""
        _, _, heads, at = self._locate(position)
        return heads[at][1]

    def _at(self, position: int) -> Planned:
        number, objects, heads, at = self._locate(position)
        api_version, ref = heads[at]
        return Planned(number, ref, objects, api_version, at, position=position)

    def _locate(self, position: int) -> tuple[int, Sequence[Object], HeadTable, int]:
        """The level that holds the object at ``position``, and its index there."""
        at = position
        for number, objects, heads in self._levels:
            if 0 <= at < len(heads):
                return number, objects, heads, at
            at -= len(heads)
        raise IndexError(position)


@dataclass
class Scene:
    cluster: Cluster
    apply: ApplyOptions
    workers: Workers
    planned: Bundled
    kinds: dict[tuple[str, str], KindInfo | None]  # (apiVersion, kind) -> None: not served
    namespaces: dict[str, dict[str, str]] | None  # the destination's, with labels; None: unread
    unknown: set[ObjectRef] = field(default_factory=set)  # could not be read
    listed: set[tuple[str, str]] = field(default_factory=set)  # (resource path, ns) read whole
    notes: list[Finding] = field(default_factory=list)  # what could not be checked

    # Made at once, not when first asked: worker threads list into ``live``.
    _refs: RefIndex = field(init=False)  # where each object is in ``planned``
    live: BundleCopies = field(init=False)  # the destination's copies of them, on disk
    _sends: bytearray = field(init=False)  # by position: 0 not decided, 1 no, 2 yes

    def __post_init__(self) -> None:
        self._refs = RefIndex(self.planned.refs(), self.planned.ref_at)
        self.live = BundleCopies(self._refs)
        self._sends = bytearray(len(self._refs))

    # -- requests ---------------------------------------------------------------------------

    def ask(self, call: Callable[[], T]) -> T:
        """One request, retried like import's while the destination does not answer."""
        return with_retries(call, deadline_seconds=self.apply.retry_timeout)

    def resource(self, group: str, kind: str) -> ApiResource | None:
        return self.cluster.discovery().preferred_for(group, kind)

    def list_all(self, group: str, kind: str, namespace: str | None = None) -> list[Object] | None:
        """Every object of a kind (in ``namespace``, or everywhere); None when the destination
        does not serve the kind. Errors are the caller's: it knows what was not checked."""
        resource = self.resource(group, kind)
        if resource is None:
            return None
        return self.ask(functools.partial(self.cluster.list_objects, resource, namespace=namespace))

    def names(self, resource: ApiResource, namespace: str | None) -> set[str]:
        """Names of a kind's objects, read as metadata only (never a Secret's data)."""
        found: set[str] = set()
        token = ""
        while True:
            query: dict[str, str | int | bool] = {"limit": PAGE}
            if token:
                query["continue"] = token
            page = self.ask(
                functools.partial(
                    self.cluster.transport.request,
                    "GET",
                    resource.path(namespace),
                    query=query,
                    accept=METADATA_ONLY,
                )
            )
            found |= {str(item["metadata"]["name"]) for item in page.get("items") or []}
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                return found

    def not_checked(self, what: str, error: ApiError, way_out: str = "") -> None:
        self.notes.append(
            Finding(
                Code.NOT_CHECKED,
                Severity.WARNING,
                f"{what} not checked: {error.status} {error.reason}",
                way_out=way_out or "run preflight as a user who may read them",
            )
        )

    # -- what the destination has -----------------------------------------------------------

    def namespace_exists(self, namespace: str) -> bool | None:
        """None when the destination's namespaces could not be read."""
        return None if self.namespaces is None else namespace in self.namespaces

    def exists(self, planned: Planned) -> bool | None:
        """Whether the destination has the object; None when it could not be read."""
        position = self._position(planned)
        if position is not None and self.live.holds(position):
            return True
        return None if planned.ref in self.unknown else False

    def _position(self, planned: Planned) -> int | None:
        """Where ``planned`` is in the bundle (in ``live`` and ``_sends``)."""
        return planned.position if planned.position >= 0 else self._refs.position(planned.ref)

    def intended(self, planned: Planned, obj: Object | None = None) -> Object:
        """The object as import sends it: ownerReferences point at the owners' UIDs in the
        destination (owners not there yet are left out, as import does at first). ``obj``:
        ``planned.obj`` when the caller has read it already."""
        rebuilt, _ = rebuild_owner_references(planned.obj if obj is None else obj, self._uid)
        return rebuilt

    def sends(self, planned: Planned) -> bool | None:
        """Whether import would write the object: not when it exists and ``--existing skip``
        leaves it, or it already has every field the bundle sets; None when unknown.
        Decided once per object that exists (several checks ask; each answer costs two
        reads); one the destination lacks costs nothing to decide, and is not remembered."""
        position = self._position(planned)
        if position is None or not self.live.holds(position):
            return None if planned.ref in self.unknown else True
        if not self._sends[position]:
            live = self.live.at(position)
            sends = live is None or self._decide_sends(planned, position, live)
            self._sends[position] = 2 if sends else 1
        return self._sends[position] == 2

    def _decide_sends(self, planned: Planned, position: int, live: Object) -> bool:
        """For an object the destination has (``live``)."""
        if self.apply.existing is ExistingMode.SKIP:
            return False
        obj = planned.obj
        if not satisfied_by(self.intended(planned, obj), live):
            return True
        if not (obj.get("metadata") or {}).get("ownerReferences"):
            self.live.settle(position)  # import rebuilds none: it compares the same
        return False

    def _uid(self, owner: ObjectRef) -> str | None:
        live = self.live.get(owner)
        return None if live is None else str(live["metadata"].get("uid") or "") or None

    def namespace_labels(self, namespace: str) -> dict[str, str] | None:
        """The labels ``namespace`` will have once imported: the destination's and the
        bundle's Namespace object's; None when the destination's could not be read."""
        bundled = next(
            (p.labels for p in self.planned.of_kind(*NAMESPACE) if p.ref.name == namespace), {}
        )
        if self.namespaces is None:
            return None
        return {**self.namespaces.get(namespace, {}), **bundled}

    # -- the bundle -------------------------------------------------------------------------

    def info(self, planned: Planned) -> KindInfo | None:
        return self.kinds.get((planned.api_version, planned.ref.kind))

    @property
    def target_namespaces(self) -> list[str]:
        """Every namespace the bundle writes into, or brings."""
        found = {namespace for _, _, _, namespace in self.planned.shared() if namespace}
        found |= {p.ref.name for p in self.planned.of_kind(*NAMESPACE)}
        return sorted(found)

    def live_view(self) -> LiveView:
        """What was read, for the import that follows (it need not list it again)."""
        return LiveView(self.live, frozenset(self.listed), self.live.settled())

    def in_bundle(self, ref: ObjectRef) -> bool:
        return ref in self._refs


def gather(
    cluster: Cluster,
    levels: Sequence[LevelObjects],
    apply: ApplyOptions,
    workers: Workers,
    progress: ProgressCallback | None = None,
) -> Scene:
    """Read what the checks share: discovery, namespaces, and the live objects of the
    bundle's kinds in the namespaces that exist (``progress`` counts the lists)."""
    planned = Bundled(levels)
    discovery = cluster.discovery()
    scene = Scene(cluster, apply, workers, planned, kinds_of(planned, discovery.find), None)
    namespaces = discovery.preferred_for(*NAMESPACE)
    try:
        listed = [] if namespaces is None else scene.ask(lambda: cluster.list_objects(namespaces))
        scene.namespaces = {
            str(n["metadata"]["name"]): dict(n["metadata"].get("labels") or {}) for n in listed
        }
    except ApiError:
        pass  # None: each check says what it could not check without them
    _load_live(scene, progress)
    return scene


def kinds_of(
    planned: Bundled, find: Callable[[str, str], ApiResource | None]
) -> dict[tuple[str, str], KindInfo | None]:
    """How each apiVersion/kind of the bundle is served: by the destination (``find``), else
    by a CRD of the bundle that serves that version, else not at all (None)."""
    from_crds: dict[tuple[str, str], KindInfo] = {}
    for p in planned.of_kind(*CRD):
        for info in _served_by_crd(p.obj):
            from_crds[(f"{info.group}/{info.version}", info.kind)] = info
    kinds: dict[tuple[str, str], KindInfo | None] = {}
    for api_version, _, kind, _ in planned.shared():
        key = (api_version, kind)
        if key in kinds:
            continue
        resource = find(*key)
        if resource is not None:
            kinds[key] = KindInfo(
                resource.group,
                resource.version,
                resource.kind,
                resource.plural,
                resource.namespaced,
                resource,
            )
        else:
            kinds[key] = from_crds.get(key)
    return kinds


def _served_by_crd(crd: Object) -> list[KindInfo]:
    """The group/version/kinds a CRD serves (apiextensions v1, and v1beta1's ``version``)."""
    spec: dict[str, Any] = crd.get("spec") or {}
    names = spec.get("names") or {}
    versions = [v.get("name") for v in spec.get("versions") or [] if v.get("served", True)]
    if not versions and spec.get("version"):
        versions = [spec["version"]]
    return [
        KindInfo(
            str(spec.get("group", "")),
            str(version),
            str(names.get("kind", "")),
            str(names.get("plural", "")),
            spec.get("scope") == "Namespaced",
            None,
        )
        for version in versions
        if version
    ]


def _load_live(scene: Scene, progress: ProgressCallback | None) -> None:
    """One list per served kind and namespace that exists (or may: unreadable namespaces),
    concurrently, keeping the objects the bundle writes; where a list is refused, each
    object is read on its own; what cannot be read either is unknown, not absent."""
    wanted: dict[tuple[str, str], ApiResource] = {}  # (resource path, namespace)
    key_of: dict[tuple[str, str, str], tuple[str, str]] = {}  # (apiVersion, kind, namespace)
    for api_version, _, kind, namespace in scene.planned.shared():
        info = scene.kinds.get((api_version, kind))
        if info is None or info.resource is None:
            continue
        if namespace and scene.namespace_exists(namespace) is False:
            continue  # created by the import: nothing in it yet
        key = key_of[(api_version, kind, namespace)] = (info.resource.path(), namespace)
        wanted[key] = info.resource

    begin_phase(progress, READING_DESTINATION)
    lists = Tally(progress, len(wanted))

    def listed(key: tuple[str, str]) -> bool:
        """Page by page to disk, keeping only what the bundle writes; False: refused."""
        resource = wanted[key]
        try:
            scene.ask(
                lambda: read_into(scene.live, scene.cluster, resource, key[1], scene.live.position)
            )
        except ApiError:
            return False
        finally:
            lists.advance(resource.group_resource)
        return True

    refused: set[tuple[str, str]] = set()
    for key, complete in zip(wanted, scene.workers.map(listed, list(wanted)), strict=True):
        if complete:
            scene.listed.add(key)
        else:
            refused.add(key)
    unlisted = [
        (wanted[key_of[(p.api_version, p.ref.kind, p.ref.namespace)]], p.ref)
        for p in scene.planned.where(
            lambda api_version, _, kind, namespace: (
                key_of.get((api_version, kind, namespace)) in refused
            )
        )
    ]

    def read(item: tuple[ApiResource, ObjectRef]) -> Object | ApiError | None:
        resource, ref = item
        try:
            return scene.ask(lambda: scene.cluster.get(resource, ref.name, ref.namespace or None))
        except ApiError as error:
            return error

    for (_, ref), answer in zip(unlisted, scene.workers.map(read, unlisted), strict=True):
        if isinstance(answer, ApiError):
            scene.unknown.add(ref)
        elif answer is not None:
            scene.live[ref] = answer
