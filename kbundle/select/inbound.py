"""Selection on the way in: which of a bundle's objects an import, render, diff or
preflight takes.

The flags are export's (``Selection``), read over the bundle instead of a cluster:
namespaces are the bundle's own (the source's, before any ``--map-namespace``), and
dependencies inside the bundle follow the selection exactly as ``plan_export`` follows them
on export (roots pull in what they depend on; ``auto`` the cluster-scoped objects the
selection depends on). What the bundle holds was chosen on export already: nothing is left
out again as derived or built in.

Kind names are resolved against any ``KindNames`` (the destination's discovery when
connected) and then against the bundle's own kinds, which need no list of Kubernetes kinds:
a bundle knows its kinds, and the CRDs it brings know their plural, singular and short names.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kbundle.bundle.verify import VerifiedBundle
from kbundle.core.errors import BundleFormatError, UsageError
from kbundle.core.model import Object, ObjectRef, group_of, version_of
from kbundle.core.selectors import Selector, parse_selector
from kbundle.select.facts import ObjectFacts, facts_of
from kbundle.select.plan import ObjectIndex, SelectionRequest, plan_export
from kbundle.select.selection import Selection

MODES = ("auto", "true", "false")
CRD = ("apiextensions.k8s.io", "CustomResourceDefinition")

__all__ = ["BundleKinds", "KindNames", "NamedKind", "check_selection", "select_objects"]


class NamedKind(Protocol):
    """A kind a name resolves to (``ApiResource`` of the cluster layer is one)."""

    @property
    def group(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def namespaced(self) -> bool: ...


class KindNames(Protocol):
    """Something that resolves kubectl kind names (``Discovery`` of the cluster layer is one)."""

    def resolve(self, text: str) -> Sequence[NamedKind]: ...


@dataclass(frozen=True)
class BundleKind:
    group: str
    kind: str
    namespaced: bool


class BundleKinds:
    """The kinds of a bundle's objects, named as kubectl users type them: ``Deployment``,
    ``deployment``, ``deployments``, ``deployments.apps``, ``deployment.v1.apps``. The plural
    is the apiserver's own guess from the kind; a CRD in the bundle adds its kind's real
    plural, singular and short names."""

    def __init__(self, objects: Iterable[Object]) -> None:
        self._kinds: dict[tuple[str, str], BundleKind] = {}
        self._names: dict[tuple[str, str], set[str]] = {}
        self._versions: dict[tuple[str, str], set[str]] = {}
        for obj in objects:
            api_version = str(obj.get("apiVersion", ""))
            namespaced = bool((obj.get("metadata") or {}).get("namespace"))
            kind = BundleKind(group_of(api_version), str(obj.get("kind")), namespaced)
            self._add(kind, (guessed_plural(kind.kind),), (version_of(api_version),))
            crd = crd_of(obj)
            if crd is not None:
                self._add(crd.defines, crd.names, crd.versions)

    def _add(self, kind: BundleKind, names: Iterable[str], versions: Iterable[str]) -> None:
        key = (kind.group, kind.kind)
        self._kinds.setdefault(key, kind)
        self._names.setdefault(key, {kind.kind.lower()}).update(n.lower() for n in names if n)
        self._versions.setdefault(key, set()).update(v for v in versions if v)

    def resolve(self, text: str) -> list[BundleKind]:
        """The bundle's kinds ``text`` names (several when a bare name fits several groups)."""
        wanted = text.strip().lower()
        exact = [self._kinds[key] for key, names in self._names.items() if wanted in names]
        if exact:
            return exact
        found = []
        for key, names in self._names.items():
            group = key[0].lower()
            versions = self._versions[key]
            qualified = {f"{name}.{group}" for name in names}
            qualified |= {f"{name}.{version}.{group}" for name in names for version in versions}
            if group and wanted in qualified:
                found.append(self._kinds[key])
        return found


@dataclass(frozen=True)
class DefinedKind:
    """What a CustomResourceDefinition says of the kind it defines."""

    crd: str  # the CRD's name
    defines: BundleKind
    names: tuple[str, ...]  # plural, singular, short names
    versions: tuple[str, ...]


def crd_of(obj: Object) -> DefinedKind | None:
    """The kind ``obj`` defines when it is a CRD (tolerant: a malformed one defines none)."""
    spec: Any = obj.get("spec")
    if _kind_of(obj) != CRD or not isinstance(spec, dict):
        return None
    names: Any = spec.get("names")
    if not isinstance(names, dict) or not isinstance(spec.get("group"), str):
        return None
    if not isinstance(names.get("kind"), str):
        return None
    given = [names.get("plural"), names.get("singular"), *(names.get("shortNames") or [])]
    versions = [v.get("name") for v in spec.get("versions") or [] if isinstance(v, dict)]
    return DefinedKind(
        crd=str(obj["metadata"]["name"]),
        defines=BundleKind(spec["group"], names["kind"], spec.get("scope") != "Cluster"),
        names=tuple(n for n in given if isinstance(n, str)),
        versions=tuple(v for v in versions if isinstance(v, str)),
    )


def guessed_plural(kind: str) -> str:
    """The resource name the apiserver would guess for ``kind`` (its own English rule)."""
    lower = kind.lower()
    if lower.endswith(("s", "x", "z", "ch", "sh")):
        return lower + "es"
    if lower.endswith("y") and lower[-2:-1] not in ("a", "e", "i", "o", "u"):
        return lower[:-1] + "ies"
    return lower + "s"


class _FirstThatKnows:
    """Names resolved by the first source that knows them."""

    def __init__(self, *sources: KindNames) -> None:
        self._sources = sources

    def resolve(self, text: str) -> Sequence[NamedKind]:
        for source in self._sources:
            found = source.resolve(text)
            if found:
                return found
        return []


def check_selection(selection: Selection) -> None:
    """What can be refused before anything is read: modes, flag combinations, ``KIND/NAME``
    shapes, the label selector; a one-line UsageError naming the flag."""
    if selection.include_cluster_resources not in MODES:
        raise UsageError(
            f"--include-cluster-resources={selection.include_cluster_resources}: "
            "expected auto, true or false"
        )
    if selection.all_namespaces and selection.namespaces:
        raise UsageError("-A/--all-namespaces and -n/--namespace cannot be combined")
    if selection.objects and selection.all_namespaces:
        raise UsageError("--object takes one namespace (-n), not -A")
    if selection.objects and len(selection.namespaces) > 1:
        raise UsageError("--object takes one namespace (-n), not several")
    for flag, given in (
        ("--include-owned", selection.include_owned),
        ("--keep-status", selection.keep_status),
        ("--keep-last-applied", selection.keep_last_applied),
    ):
        if given:
            raise UsageError(
                f"{flag} decides what export reads: a bundle's objects are taken as they are"
            )
    for text in selection.objects:
        _split_root(text)
    if selection.selector:
        parse_selector(selection.selector)


def select_objects(
    bundle: VerifiedBundle,
    selection: Selection,
    names: KindNames | None = None,
    where: str = "the bundle",
) -> frozenset[ObjectRef] | None:
    """The objects of ``bundle`` that ``selection`` takes, dependencies included; None when it
    takes everything (nothing is read then). Kind names resolve against ``names`` first (the
    destination's discovery, ``where`` says which), then against the bundle's own kinds."""
    check_selection(selection)
    if _takes_everything(selection):
        return None
    objects = [document for entry in bundle.entries for document in bundle.documents(entry)]
    own = BundleKinds(objects)
    kinds: KindNames = own if names is None else _FirstThatKnows(names, own)
    described = "the bundle" if names is None else f"{where} or the bundle"
    held = _namespaces_of(objects)
    for namespace in selection.namespaces:
        if namespace not in held:
            raise UsageError(
                f"-n {namespace}: the bundle holds nothing in that namespace "
                f"(it holds {', '.join(held) or 'no namespaced objects'})"
            )
    request = _request(selection, kinds, described, held)
    index = ObjectIndex(_facts(objects))
    for root in request.roots:
        if root not in index.by_ref:
            in_namespace = f" in namespace {root.namespace}" if root.namespace else ""
            raise UsageError(
                f"--object {root.group_kind}/{root.name}: the bundle holds no such object"
                f"{in_namespace}"
            )
    plan = plan_export(index, request)
    # The bundle is what export chose: what plan_export would leave out as derived stays.
    return frozenset(plan.exported) | frozenset(fact.ref for fact, _ in plan.skipped)


def _takes_everything(selection: Selection) -> bool:
    return (
        not selection.namespaces
        and not selection.selector
        and not _split(selection.include_kinds)
        and not _split(selection.exclude_kinds)
        and not selection.objects
        and selection.include_cluster_resources != "false"
    )


def _cluster_resources(selection: Selection) -> str:
    """``auto`` takes the cluster-scoped objects the selection depends on; with no
    namespace, label or object to narrow it (kind filters only), every one the bundle holds,
    as a restore of a whole snapshot would."""
    narrowed = selection.namespaces or selection.selector or selection.objects
    mode = selection.include_cluster_resources
    return "true" if mode == "auto" and not narrowed else mode


# -- the request -----------------------------------------------------------------------------


def _request(
    selection: Selection, kinds: KindNames, where: str, held: Sequence[str]
) -> SelectionRequest:
    exclude = _kinds(selection.exclude_kinds, kinds, where, "--exclude-kinds")
    return SelectionRequest(
        namespaces=frozenset(selection.namespaces) if selection.namespaces else None,
        selector=parse_selector(selection.selector) if selection.selector else Selector(),
        include_kinds=_kinds(selection.include_kinds, kinds, where, "--include-kinds"),
        exclude_kinds=exclude or frozenset(),
        roots=tuple(_root(text, kinds, where, selection, held) for text in selection.objects),
        cluster_resources=_cluster_resources(selection),
        include_owned=True,  # nothing in a bundle is derived from something export kept
    )


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _resolve(
    name: str, kinds: KindNames, where: str, flag: str, given: str | None = None
) -> Sequence[NamedKind]:
    """The kinds ``name`` means; a UsageError naming the flag and what was ``given``."""
    found = kinds.resolve(name)
    if not found:
        what = f"{given}: no such kind {name}" if given else f"{name}: no such kind"
        raise UsageError(
            f"{flag} {what} in {where}", hint="kbundle inspect BUNDLE lists the bundle's kinds"
        )
    return found


def _kinds(values: Sequence[str], kinds: KindNames, where: str, flag: str) -> frozenset[str] | None:
    names = _split(values)
    if not names:
        return None
    return frozenset(
        ObjectRef(k.group, k.kind, "", "").group_kind
        for name in names
        for k in _resolve(name, kinds, where, flag)
    )


def _split_root(text: str) -> tuple[str, str]:
    kind, slash, name = text.partition("/")
    if not slash or not kind or not name or "/" in name:
        raise UsageError(f"--object {text}: expected KIND/NAME, e.g. deployment/api")
    return kind, name


def _root(
    text: str, kinds: KindNames, where: str, selection: Selection, held: Sequence[str]
) -> ObjectRef:
    """``KIND/NAME``; a namespaced one in the one namespace of ``-n``, or else in the
    bundle's only namespace."""
    kind_name, name = _split_root(text)
    found = _resolve(kind_name, kinds, where, "--object", text)
    unique = {(k.group, k.kind): k for k in found}
    if len(unique) > 1:
        choices = ", ".join(sorted(ObjectRef(g, k, "", "").group_kind for g, k in unique))
        raise UsageError(f"--object {text}: {kind_name} is ambiguous ({choices}); name the group")
    [kind] = unique.values()
    if not kind.namespaced:
        return ObjectRef(kind.group, kind.kind, "", name)
    if selection.namespaces:
        return ObjectRef(kind.group, kind.kind, selection.namespaces[0], name)
    if len(held) != 1:
        raise UsageError(
            f"--object {text}: name its namespace with -n "
            f"(the bundle holds {', '.join(held) or 'no namespace'})"
        )
    return ObjectRef(kind.group, kind.kind, held[0], name)


# -- what the bundle holds -------------------------------------------------------------------


def _namespaces_of(objects: Sequence[Object]) -> list[str]:
    """The namespaces the bundle's objects are in, and its Namespace objects."""
    found = {str(o["metadata"]["namespace"]) for o in objects if o["metadata"].get("namespace")}
    found |= {str(o["metadata"]["name"]) for o in objects if _kind_of(o) == ("", "Namespace")}
    return sorted(found)


def _kind_of(obj: Object) -> tuple[str, str]:
    return group_of(str(obj.get("apiVersion", ""))), str(obj.get("kind", ""))


def _facts(objects: Sequence[Object]) -> list[ObjectFacts]:
    """Facts of every object, custom resources pointing at the bundle's CRD that defines
    them, as on export. A verified bundle may still hold fields of the wrong shape (a list
    where a mapping belongs): that is refused here in one line."""
    crds = _crd_names(objects)
    facts = []
    for obj in objects:
        try:
            facts.append(facts_of(obj, crd_name=crds.get(_kind_of(obj))))
        except (AttributeError, TypeError, KeyError) as error:
            raise BundleFormatError(
                f"{ObjectRef.of(obj)}: its fields are not shaped as a Kubernetes object's "
                f"({type(error).__name__})"
            ) from None
    return facts


def _crd_names(objects: Sequence[Object]) -> dict[tuple[str, str], str]:
    """(group, kind) -> the name of the bundle's CRD that defines that kind."""
    defined = [crd for crd in map(crd_of, objects) if crd is not None]
    return {(crd.defines.group, crd.defines.kind): crd.crd for crd in defined}
