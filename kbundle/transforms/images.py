"""``--map-registry OLD=NEW``: pull every container image from a mirror instead.

An air-gapped destination cannot reach the registries a bundle's images name; its images
are mirrored under another host (and often another path). This rewrites the ``image`` of
every container, init container and ephemeral container in the pod specs and pod templates
of built-in kinds (``kbundle.core.kinds``; a custom resource's template is left alone),
keeping the repository path, tag and digest, so the same image is pulled from the mirror (a
digest still pins the exact bits).

Image names are read the way container runtimes read them (Docker's reference grammar): the
first path component is a registry host only if it holds a ``.`` or ``:``, is ``localhost``,
or has upper case (which a repository path may not); otherwise the image is on Docker Hub,
whose official images live under ``library/``. So ``nginx:1.25``, ``library/nginx``,
``docker.io/library/nginx`` and ``index.docker.io/library/nginx`` are one repository, and
``docker.io=mirror.local`` maps them all to ``mirror.local/library/nginx``.

An OLD is a registry host, or a host and a path prefix matched on whole path components
(``registry.shop.example/shop`` maps ``.../shop/api`` but not ``.../shopping/api``); the
longest matching OLD wins. An OLD is never expanded with ``library/``: ``docker.io/nginx`` is
the prefix ``docker.io/nginx/``, not the official image (write ``docker.io/library/nginx``).

Mappings whose second application would change images again (a NEW under an OLD, or an OLD
under a NEW) are refused, so importing a transformed bundle twice gives the same images.
Images in ``status`` and in the last-applied annotation are left alone: neither is applied.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from kbundle.core.errors import UsageError
from kbundle.core.fieldpath import render_path
from kbundle.core.kinds import pod_containers
from kbundle.core.model import Object, ObjectRef
from kbundle.transforms.args import old_new_mapping, usage
from kbundle.transforms.base import TransformContext

NAME = "map-registry"
FLAG = "--map-registry"
DOCKER_HUB = "docker.io"
# Docker Hub's other spellings; runtimes normalise them to docker.io.
DOCKER_HUB_ALIASES = frozenset({DOCKER_HUB, "index.docker.io", "registry-1.docker.io"})
OFFICIAL_IMAGES = "library"  # Docker Hub's namespace for one-component names

Repository = tuple[str, ...]  # (host, *path components), Docker Hub spelled out

_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(rf"(?:{_HOST_LABEL}(?:\.{_HOST_LABEL})*|\[[0-9A-Fa-f:]+\])(?::[0-9]+)?")
_PATH_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}")
_HINT = (
    f"give each mapping as OLD=NEW, each a registry host with an optional path, "
    f"e.g. {FLAG} registry.shop.example=mirror.local:5000 or {FLAG} docker.io=mirror.local/hub"
)


# -- reading image names --------------------------------------------------------------------


@dataclass(frozen=True)
class ImageName:
    """An image reference split into the repository it names, its tag and its digest."""

    repository: Repository
    tag: str = ""  # "" when the reference has none
    digest: str = ""  # "" when the reference has none


def parse_image(text: str) -> ImageName | None:
    """``nginx:1.25`` -> ``(docker.io, library, nginx)``, tag ``1.25``; ``None`` for text
    that is not an image reference (``$(IMAGE)``, empty), which is then left alone."""
    name, at, digest = text.partition("@")
    if at and _DIGEST.fullmatch(digest) is None:
        return None
    tag = ""
    head, colon, tail = name.rpartition(":")
    if colon and "/" not in tail:  # a ':' before the last '/' is a port, not a tag
        name, tag = head, tail
        if _TAG.fullmatch(tag) is None:
            return None
    repository = _image_repository(name.split("/"))
    return None if repository is None else ImageName(repository, tag, digest)


def _is_host(component: str) -> bool:
    """Docker's rule for whether a name's first component is a registry host."""
    return (
        "." in component
        or ":" in component
        or component == "localhost"
        or (component != component.lower())
    )


def _image_repository(components: list[str]) -> Repository | None:
    if len(components) > 1 and _is_host(components[0]):
        host, path = components[0], components[1:]
    else:
        host, path = DOCKER_HUB, components
    if host in DOCKER_HUB_ALIASES:
        host = DOCKER_HUB
        if len(path) == 1:
            path = [OFFICIAL_IMAGES, *path]
    if _HOST.fullmatch(host) is None or not all(_PATH_COMPONENT.fullmatch(c) for c in path):
        return None
    return (host, *path)


def render_image(prefix: str, rest: Sequence[str], tag: str, digest: str) -> str:
    """``mirror.local``, ``(shop, api)``, ``1.4`` -> ``mirror.local/shop/api:1.4``."""
    text = "/".join([prefix, *rest])
    if tag:
        text += f":{tag}"
    if digest:
        text += f"@{digest}"
    return text


# -- parsing the flag -----------------------------------------------------------------------


def parse_registry_mappings(values: Sequence[str]) -> dict[str, str]:
    """``["registry.shop.example=mirror.local:5000"]`` -> the same as a dict, validated.

    Each OLD and NEW must be a registry host with an optional path prefix: no scheme, tag or
    digest. The same OLD (in any Docker Hub spelling) may appear once, and no NEW may overlap
    any OLD, so a second application changes nothing.
    """
    mapping: dict[str, str] = {}
    rules: dict[Repository, Repository] = {}
    for value in values:
        old_text, equals, new_text = value.partition("=")
        if not equals:
            raise _usage(value, "expected OLD=NEW")
        old = _prefix(value, old_text, "OLD")
        new = _prefix(value, new_text, "NEW")
        _check_against(value, old, new, rules)
        rules[old] = new
        mapping[old_text] = new_text
    return mapping


def _prefix(value: str, text: str, role: str) -> Repository:
    """A registry host and optional path as components, Docker Hub's spellings folded."""
    if not text:
        raise _usage(value, f"{role} is empty")
    if "://" in text:
        raise _usage(value, f"{text!r} has a scheme: write the registry as image names do")
    host, *path = text.split("/")
    last = text.rsplit("/", 1)[-1]
    port_only = not path and _HOST.fullmatch(host) is not None  # mirror.local:5000
    if "@" in text or (":" in last and not port_only):
        raise _usage(value, f"{text!r} holds a tag or digest: give a registry or a path prefix")
    if not _is_host(host) or _HOST.fullmatch(host) is None:
        raise _usage(
            value,
            f"{text!r} does not start with a registry host "
            "(one with a '.' or ':', or localhost; Docker Hub is docker.io)",
        )
    for component in path:
        if _PATH_COMPONENT.fullmatch(component) is None:
            raise _usage(value, f"{component!r} is not a valid repository path component")
    return (DOCKER_HUB if host in DOCKER_HUB_ALIASES else host, *path)


def _check_against(
    value: str, old: Repository, new: Repository, earlier: Mapping[Repository, Repository]
) -> None:
    """Refuse ``value`` if it repeats an OLD or, with the ``earlier`` mappings, would map
    images it produced a second time."""
    if old == new:
        raise _usage(value, f"maps {_text(old)!r} to itself")
    if old in earlier:
        raise _usage(value, f"{_text(old)!r} is already mapped to {_text(earlier[old])!r}")
    rules = {**earlier, old: new}
    for target in rules.values():
        for source in rules:
            if _overlaps(source, target):
                raise _usage(
                    value,
                    f"NEW {_text(target)!r} overlaps OLD {_text(source)!r}: a second run "
                    "would map the images again; choose a NEW outside every OLD",
                )


def _overlaps(old: Repository, new: Repository) -> bool:
    """Whether images written under ``new`` could match ``old``: one is a whole-component
    prefix of the other (``new`` read as a Docker Hub official image counts too)."""
    shorter = min(len(old), len(new))
    if old[:shorter] == new[:shorter]:
        return True
    if new[0] == DOCKER_HUB and len(new) == 2:  # docker.io/nginx is docker.io/library/nginx
        official = (DOCKER_HUB, OFFICIAL_IMAGES, new[1])
        return official[: len(old)] == old
    return False


def _text(repository: Repository) -> str:
    return "/".join(repository)


def _usage(value: str, problem: str) -> UsageError:
    return usage(FLAG, value, problem, _HINT)


# -- the transform --------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistryMapping:
    """Rewrite container images to pull from mirrors (``--map-registry``)."""

    mapping: Mapping[str, str]  # OLD -> NEW as given, validated
    name: str = NAME
    _rules: Mapping[Repository, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Validated again so a hand-built mapping cannot skip the checks, and copied so the
        # caller's dict cannot change behind a frozen object.
        checked = parse_registry_mappings([f"{o}={n}" for o, n in self.mapping.items()])
        rules = {_prefix(old, old, "OLD"): new for old, new in checked.items()}
        object.__setattr__(self, "mapping", MappingProxyType(checked))
        object.__setattr__(self, "_rules", MappingProxyType(rules))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        """A deep copy of ``obj`` with its images mapped; each change recorded."""
        result = copy.deepcopy(obj)
        ref = ObjectRef.of(obj)
        for container, path in pod_containers(result):
            image = container.get("image")
            if not isinstance(image, str):
                continue
            mapped = self.map_image(image)
            if mapped != image:
                container["image"] = mapped
                context.record(self.name, ref, render_path((*path, "image")), image, mapped)
        return result

    def map_image(self, image: str) -> str:
        """``image`` pulled from its mirror, or unchanged if no OLD holds it."""
        parsed = parse_image(image)
        if parsed is None:
            return image
        repository = parsed.repository
        for length in range(len(repository), 0, -1):  # longest OLD first
            new = self._rules.get(repository[:length])
            if new is None:
                continue
            rest = repository[length:]
            if not rest and "/" not in new:
                raise UnmappableImage(image, new)
            return render_image(new, rest, parsed.tag, parsed.digest)
        return image

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "args": {"mapping": dict(self.mapping)}}


class UnmappableImage(ValueError):
    """An OLD that is a whole repository, mapped to a bare host: ``registry.shop.example/shop``
    to ``mirror.local`` would make ``registry.shop.example/shop:1`` ``mirror.local:1``, which
    runtimes read as the Docker Hub image ``mirror.local``. The object is not applied."""

    def __init__(self, image: str, new: str) -> None:
        super().__init__(
            f"image {image!r} would name no repository on {new!r}; "
            f"map its repository to a path ({new}/NAME)"
        )


def registry_mapping(args: Mapping[str, Any]) -> RegistryMapping:
    """A rules file's ``{"mapping": {OLD: NEW}}``: the inverse of ``describe()``'s args."""
    return RegistryMapping(old_new_mapping(NAME, args, _HINT))
