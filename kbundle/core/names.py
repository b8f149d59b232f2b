"""How Kubernetes checks names, said once: kbundle refuses what the apiserver would refuse.

A name the apiserver refuses fails its object in the destination, after part of a bundle
was applied. Checked up front (a flag, a rules file, a bundle being verified), it is one
line before anything is sent. The rules are the apiserver's own (``k8s.io/apimachinery``
``util/validation`` and ``api/validation``); each function says what it guards.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from kbundle.core.kinds import NAMESPACE, STORAGE_CLASS, GroupKind

__all__ = [
    "DNS_LABEL_MAX",
    "DNS_SUBDOMAIN_MAX",
    "LABEL_VALUE_FORMAT",
    "NAMESPACE_NAME",
    "NAME_PART_MAX",
    "NAME_RULES",
    "QUALIFIED_NAME_FORMAT",
    "STORAGE_CLASS_NAME",
    "NameRule",
    "is_dns_label",
    "is_dns_subdomain",
    "is_label_value",
    "object_name_problem",
    "path_segment_problem",
    "qualified_name_problem",
]

DNS_LABEL_MAX = 63
DNS_SUBDOMAIN_MAX = 253
NAME_PART_MAX = 63  # the name part of a qualified name, and a label value

_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_LABEL = re.compile(_LABEL)
_DNS_SUBDOMAIN = re.compile(rf"{_LABEL}(\.{_LABEL})*")
_NAME_PART = re.compile(r"[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?")

QUALIFIED_NAME_FORMAT = (
    "a key is an optional DNS subdomain prefix and '/', then a name of at most 63 letters, "
    "digits, '-', '_' or '.', starting and ending with a letter or digit"
)
LABEL_VALUE_FORMAT = "a label value is empty or a name like a key's (at most 63 characters)"


def is_dns_label(value: Any) -> bool:
    """An RFC 1123 label: at most 63 lower-case letters, digits and '-', starting and ending
    with a letter or digit. A namespace's name must be one: it is a label of every service
    DNS name in it (``api.shop.svc``)."""
    return (
        isinstance(value, str)
        and len(value) <= DNS_LABEL_MAX
        and _DNS_LABEL.fullmatch(value) is not None
    )


def is_dns_subdomain(value: Any) -> bool:
    """RFC 1123 labels joined by '.', at most 253 characters in all: what most kinds' names
    must be (a StorageClass's among them), and the prefix of a label or annotation key."""
    return (
        isinstance(value, str)
        and len(value) <= DNS_SUBDOMAIN_MAX
        and _DNS_SUBDOMAIN.fullmatch(value) is not None
    )


def _is_name_part(value: str) -> bool:
    return len(value) <= NAME_PART_MAX and _NAME_PART.fullmatch(value) is not None


def qualified_name_problem(key: str) -> str | None:
    """Why ``key`` is not a qualified name, the apiserver's rule for label and annotation
    keys (``app``, ``example.com/owner``): an optional DNS subdomain prefix and '/', then a
    name part (see ``QUALIFIED_NAME_FORMAT``). None if it is one."""
    parts = key.split("/")
    if len(parts) > 2:
        return f"{key!r} is not a valid key: more than one '/'"
    if len(parts) == 2 and not is_dns_subdomain(parts[0]):
        return f"{key!r} is not a valid key: {parts[0]!r} is not a DNS subdomain"
    if not _is_name_part(parts[-1]):
        return f"{key!r} is not a valid key: {parts[-1]!r} is not a valid name"
    return None


def is_label_value(value: str) -> bool:
    """Empty, or a name part (at most 63 characters): the apiserver's rule for label values,
    so a selector value outside it could match no object."""
    return value == "" or _is_name_part(value)


def path_segment_problem(name: str) -> str | None:
    """Why no kind could be named ``name``. Every name is a segment of its object's URL
    (``.../configmaps/NAME``), so the apiserver refuses ``.``, ``..``, ``/`` and ``%`` for
    every kind; kbundle also refuses an empty name, control characters, and more than the
    253 characters of a DNS subdomain (the limit of most kinds). None if it is usable."""
    problem = None
    if not name:
        problem = "is empty"
    elif len(name) > DNS_SUBDOMAIN_MAX:
        problem = f"is longer than {DNS_SUBDOMAIN_MAX} characters"
    elif name in (".", "..") or "/" in name or "%" in name:
        problem = "cannot be a path segment (., .., / or %)"
    elif not name.isprintable():
        problem = "holds control characters"
    return problem


@dataclass(frozen=True)
class NameRule:
    """The rule a kind's names follow beyond ``path_segment_problem``, and how to say a name
    breaks it (``is not a valid namespace name``)."""

    noun: str  # "namespace": what the message calls such a name
    accepts: Callable[[Any], bool]

    def problem(self, name: Any) -> str | None:
        return None if self.accepts(name) else f"is not a valid {self.noun} name"


NAMESPACE_NAME = NameRule("namespace", is_dns_label)
STORAGE_CLASS_NAME = NameRule("storage class", is_dns_subdomain)

# Kinds whose names kbundle checks for their own rule: a namespace is named by mappings and
# by every namespaced object; a storage class by mappings and by claims.
NAME_RULES: Mapping[GroupKind, NameRule] = MappingProxyType(
    {NAMESPACE: NAMESPACE_NAME, STORAGE_CLASS: STORAGE_CLASS_NAME}
)


def object_name_problem(group_kind: GroupKind, name: str) -> str | None:
    """Why the apiserver would refuse ``name`` for an object of ``group_kind``: its kind's
    rule first, then what every name must be. None if neither refuses it."""
    rule = NAME_RULES.get(group_kind)
    problem = None if rule is None else rule.problem(name)
    return problem or path_segment_problem(name)
