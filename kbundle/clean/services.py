"""Rules for Services and Endpoints.

nodePorts are a cluster-wide resource: one the apiserver allocated on the source may be
taken on the destination, so only the ones a user asked for travel. Who set a nodePort is
read from ``managedFields`` (the apiserver's allocator owns nothing there, so an allocated
port has no owner) and from the last-applied annotation of ``kubectl apply``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any

from kbundle.clean.core import Target, child, list_at, remove_annotations
from kbundle.core.model import LAST_APPLIED

HEALTH_CHECK = "healthCheckNodePort"
# Managers that stand for the apiserver itself (its own loopback client), never a user.
APISERVER_MANAGERS = frozenset({"kube-apiserver"})
# The first server-side apply on an object without managedFields hands every existing field,
# allocated nodePorts included, to this placeholder: its ownership proves nothing.
PLACEHOLDER_MANAGERS = frozenset({"before-first-apply"})


class Verdict(Enum):
    KEEP = "keep"  # a user set it
    DROP = "drop"  # the records show the apiserver allocated it
    UNKNOWN = "unknown"  # nothing tells: drop it and say so


def _port_key(port: Mapping[str, Any]) -> str:
    """``80/TCP``: how managedFields (``k:{"port":80,"protocol":"TCP"}``) identify a port."""
    return f"{port.get('port')}/{port.get('protocol') or 'TCP'}"


def _owned_node_ports(fields_v1: Mapping[str, Any]) -> set[str]:
    """Port keys (and ``healthCheckNodePort``) whose nodePort this FieldsV1 set owns."""
    spec = child(fields_v1, "f:spec") or {}
    owned = {HEALTH_CHECK} if f"f:{HEALTH_CHECK}" in spec else set()
    for key, fields in (child(spec, "f:ports") or {}).items():
        if not (key.startswith("k:") and isinstance(fields, Mapping) and "f:nodePort" in fields):
            continue
        try:
            item = json.loads(key[2:])
        except ValueError:
            continue
        if isinstance(item, dict):
            owned.add(_port_key(item))
    return owned


def _last_applied_node_ports(metadata: Mapping[str, Any]) -> set[str] | None:
    """Port keys whose nodePort ``kubectl apply`` sent; None without a readable annotation."""
    text = (child(metadata, "annotations") or {}).get(LAST_APPLIED)
    try:
        applied = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        return None
    if not isinstance(applied, dict):
        return None
    spec = child(applied, "spec") or {}
    ports = list_at(spec, "ports")
    found = {_port_key(p) for p in ports if isinstance(p, dict) and p.get("nodePort")}
    return found | ({HEALTH_CHECK} if spec.get(HEALTH_CHECK) else set())


@dataclass(frozen=True)
class Provenance:
    """What the source's records say about who set each nodePort of one Service."""

    user: frozenset[str]  # set by a user: a manager that owns it, or the last-applied JSON
    placeholder: frozenset[str]  # owned only by a placeholder manager
    recorded: bool  # managedFields or last-applied exist
    from_server: bool  # read from an apiserver; if not, every field was written by a user

    @classmethod
    def of(cls, original: Mapping[str, Any]) -> Provenance:
        metadata = child(original, "metadata") or {}
        entries = [e for e in list_at(metadata, "managedFields") if isinstance(e, dict)]
        user: set[str] = set()
        placeholder: set[str] = set()
        for entry in entries:
            manager = entry.get("manager")
            if manager in APISERVER_MANAGERS:
                continue
            owned = _owned_node_ports(child(entry, "fieldsV1") or {})
            (placeholder if manager in PLACEHOLDER_MANAGERS else user).update(owned)
        applied = _last_applied_node_ports(metadata)
        return cls(
            user=frozenset(user | (applied or set())),
            placeholder=frozenset(placeholder),
            recorded=bool(entries) or applied is not None,
            from_server="uid" in metadata or "resourceVersion" in metadata,
        )

    def verdict(self, key: str) -> Verdict:
        if not self.from_server or key in self.user:
            return Verdict.KEEP
        if self.recorded and key not in self.placeholder:
            return Verdict.DROP
        return Verdict.UNKNOWN


def keep_user_set_node_ports(target: Target) -> None:
    """Keep nodePorts and healthCheckNodePort a user set; drop allocated and unknown ones."""
    spec = child(target.obj, "spec")
    if spec is None:
        return
    provenance = Provenance.of(target.original)
    unknown: list[str] = []
    for port in list_at(spec, "ports"):
        if not (isinstance(port, dict) and "nodePort" in port):
            continue
        verdict = provenance.verdict(_port_key(port))
        if verdict is not Verdict.KEEP:
            node_port = port.pop("nodePort")
            if verdict is Verdict.UNKNOWN:
                unknown.append(f"nodePort {node_port} of port {_port_key(port)}")
    if HEALTH_CHECK in spec:
        verdict = provenance.verdict(HEALTH_CHECK)
        if verdict is not Verdict.KEEP:
            node_port = spec.pop(HEALTH_CHECK)
            if verdict is Verdict.UNKNOWN:
                unknown.append(f"{HEALTH_CHECK} {node_port}")
    if unknown:
        target.note(
            "node-port-provenance-unknown",
            f"{', '.join(unknown)} removed: the source does not record whether a user or the "
            "apiserver set it, so the destination allocates a new one",
        )


def drop_endpoints_trigger_time(target: Target) -> None:
    remove_annotations(target, "endpoints.kubernetes.io/last-change-trigger-time")
