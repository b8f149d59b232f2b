"""``--map-ip SRC_CIDR=DST_CIDR``: move addresses into the destination's ranges, offset kept.

Import clears a Service's clusterIP so that the destination allocates one from its own range.
That is right for most Services and wrong for the few whose address is fixed on purpose (a DNS
service, one an application was given by number), and it does nothing for the addresses a
selector-less Service's Endpoints or EndpointSlices name by hand. A mapping moves each address
to the same offset in the destination's range (``10.96.0.50`` with
``10.96.0.0/16=10.112.0.0/16`` becomes ``10.112.0.50``), so a layout someone chose survives,
and marks the Service so that import keeps the mapped cluster IPs instead of clearing them.

An address in no mapped range is left alone and reported, so a user sees which Services will
get a new address from the destination and which endpoints still point at the old network.

With ``--map-ip-in-data`` the same mapping applies to addresses written as text into ConfigMap
``data`` and container ``env`` values, where applications are told addresses directly. Only
whole addresses in a mapped range change there, and nothing else is reported (configuration
is full of addresses that are not the cluster's).

Pure: a call returns a rewritten deep copy and records every change. Secrets are never read,
so no Secret value can reach a ``Rewrite``.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from typing import Any

from kbundle.core.errors import UsageError
from kbundle.core.fieldpath import Path, Segment, dict_at, dicts, get, indices, render_path
from kbundle.core.kinds import (
    CLUSTER_IP,
    CLUSTER_IPS,
    ENDPOINT_ADDRESS_LISTS,
    ENDPOINT_SLICE,
    ENDPOINTS,
    EXTERNAL_IPS,
    IP_ADDRESS_TYPES,
    KEEP_CLUSTER_IPS,
    LOAD_BALANCER_IP,
    SERVICE,
    group_kind_of,
    pod_containers,
)
from kbundle.core.model import Object, ObjectRef
from kbundle.transforms.base import TransformContext

FLAG = "--map-ip"
DATA_FLAG = "--map-ip-in-data"
NAME = "map-ip"
NOT_MAPPED = " (not in any mapped range)"  # suffix of the path of an address left alone

Network = IPv4Network | IPv6Network
Address = IPv4Address | IPv6Address
IpPair = tuple[Network, Network]

_HINT = f"give each mapping as SRC_CIDR=DST_CIDR, e.g. {FLAG} 10.96.0.0/16=10.112.0.0/16"
# How an entry of the factory's mapping is named in errors: the pipeline builds --map-ip
# through the factory too, so this reads as the flag does, and a rules file adds its rule.
_ARGS_LABEL = NAME


# -- parsing the flag -----------------------------------------------------------------------


def parse_ip_mappings(values: Sequence[str]) -> list[IpPair]:
    """``["10.96.0.0/16=10.112.0.0/16"]`` -> ``[(IPv4Network(...), IPv4Network(...))]``.

    Refuses every mapping that could not be applied to each address on its own: an address
    must fall in at most one SRC (else its destination would depend on order), land inside
    DST (DST at least as large as SRC), and no two SRC addresses may land on one DST address
    (two Services would claim one IP). Chains and swaps are fine: every address is looked up
    once, in the source's ranges.
    """
    pairs: list[IpPair] = []
    for value in values:
        source, equals, destination = value.partition("=")
        if not equals:
            raise _usage(FLAG, value, "expected SRC_CIDR=DST_CIDR")
        _add(pairs, FLAG, value, source, destination)
    return pairs


def _add(pairs: list[IpPair], label: str, shown: str, source: str, destination: str) -> None:
    """Parse one mapping, check it against the ``pairs`` before it, and append it."""
    src = _network(label, shown, source)
    dst = _network(label, shown, destination)
    _check_against(label, shown, (src, dst), pairs)
    pairs.append((src, dst))


def _network(label: str, shown: str, text: str) -> Network:
    """A CIDR exactly as written; near misses are refused with what was probably meant."""
    try:
        network = ip_network(text)
    except ValueError:
        raise _usage(label, shown, _not_a_network(text)) from None
    if "/" not in text:
        # A forgotten prefix would quietly map one address: make a single address explicit.
        problem = f"{text!r} has no prefix length (for one address write {network})"
        raise _usage(label, shown, problem)
    if isinstance(network, IPv6Network) and network.network_address.scope_id is not None:
        raise _usage(label, shown, f"{text!r} has a zone index: it names an interface")
    return network


def _not_a_network(text: str) -> str:
    """Why ``text`` is no CIDR; a CIDR with host bits set gets the network it stands for."""
    try:
        meant = ip_network(text, strict=False)
    except ValueError:
        return f"{text!r} is not a CIDR"
    return f"{text!r} has host bits set (the network is {meant})"


def _check_against(label: str, shown: str, pair: IpPair, earlier: Sequence[IpPair]) -> None:
    """Refuse ``pair`` if it, alone or with the ``earlier`` pairs, is not one-to-one."""
    src, dst = pair
    if src.version != dst.version:
        raise _usage(label, shown, f"{src} is IPv{src.version} but {dst} is IPv{dst.version}")
    if dst.prefixlen > src.prefixlen:
        problem = f"{dst} is smaller than {src}: the end of {src} would have nowhere to go"
        raise _usage(label, shown, problem)
    for earlier_src, earlier_dst in earlier:
        if _overlap(src, earlier_src):
            problem = f"{src} overlaps {earlier_src}, already mapped to {earlier_dst}"
            raise _usage(label, shown, problem)
        if _overlap(dst, earlier_dst):
            problem = f"{dst} overlaps {earlier_dst}, where {earlier_src} is already mapped"
            raise _usage(label, shown, problem)


def _overlap(one: Network, other: Network) -> bool:
    return one.version == other.version and one.overlaps(other)


def _usage(label: str, value: str, problem: str) -> UsageError:
    """One line naming the value exactly as given (escaped if it holds a line break)."""
    shown = value if value.isprintable() else repr(value)
    return UsageError(f"{label} {shown}: {problem}", hint=_HINT)


# -- the transform --------------------------------------------------------------------------


@dataclass(frozen=True)
class IpMapping:
    """Move addresses into the destination's ranges (``--map-ip``, ``--map-ip-in-data``)."""

    mapping: tuple[IpPair, ...]  # (SRC, DST) pairs, validated
    in_data: bool = False  # also addresses in ConfigMap data and container env values
    name: str = NAME

    def __post_init__(self) -> None:
        # Validated again so a mapping built by hand cannot skip the one-to-one checks, and
        # copied into a tuple so the caller's list cannot change behind a frozen object.
        checked: list[IpPair] = []
        for src, dst in self.mapping:
            _add(checked, FLAG, f"{src}={dst}", str(src), str(dst))
        object.__setattr__(self, "mapping", tuple(checked))

    def __call__(self, obj: Object, context: TransformContext) -> Object:
        """A rewritten deep copy of ``obj``; each change, and each address left, is recorded."""
        result = copy.deepcopy(obj)
        if not self.mapping or group_kind_of(obj) == ("", "Secret"):
            return result  # a Secret is never read, so none of its values can be reported
        ref = ObjectRef.of(obj)

        def record(path: str, before: str, after: str) -> None:
            context.record(self.name, ref, path, before, after)

        rewriter = _Rewriter(self.mapping, record)
        for rule in (*RULES, *DATA_RULES) if self.in_data else RULES:
            rule(result, rewriter)
        return result

    def describe(self) -> dict[str, Any]:
        """What the manifest records; ``ip_mapping(describe()["args"])`` rebuilds it."""
        mapping = {str(src): str(dst) for src, dst in self.mapping}
        return {"name": self.name, "args": {"mapping": mapping, "inData": self.in_data}}


def ip_mapping(args: Mapping[str, Any]) -> IpMapping:
    """A rules file's ``{"mapping": {SRC: DST, ...}, "inData": bool}``, checked like the flag."""
    unknown = sorted(set(args) - {"mapping", "inData"})
    if unknown:
        raise UsageError(f"{NAME}: unknown argument {unknown[0]!r}", hint=_HINT)
    mapping = args.get("mapping")
    if not isinstance(mapping, Mapping) or not mapping:
        raise UsageError(f"{NAME}: 'mapping' must map SRC_CIDR to DST_CIDR", hint=_HINT)
    in_data = args.get("inData", False)
    if not isinstance(in_data, bool):
        raise UsageError(f"{NAME}: 'inData' must be true or false, not {in_data!r}", hint=_HINT)
    pairs: list[IpPair] = []
    for source, destination in mapping.items():
        shown = f"{source}={destination}"
        if not isinstance(source, str) or not isinstance(destination, str):
            raise _usage(_ARGS_LABEL, shown, "SRC_CIDR and DST_CIDR must be strings")
        _add(pairs, _ARGS_LABEL, shown, source, destination)
    return IpMapping(tuple(pairs), in_data=in_data)


# Whole addresses in free text. IPv6 is tried first, so the IPv4 tail of ``::ffff:10.0.0.1``
# is not taken for an address of its own. Neither may continue a word or a dotted name
# (``110.96.0.50``, ``10.96.0.500``, ``10.96.0.50.1``, ``10.96.0.50.nip.io`` are no address);
# IPv4 may follow a colon (``host:10.96.0.50``) and be followed by a port or a prefix length.
_IPV4 = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"
_IPV6 = rf"(?:[0-9A-Fa-f]{{0,4}}:){{2,7}}(?:{_IPV4}|[0-9A-Fa-f]{{1,4}})?"
_ADDRESS = re.compile(
    rf"(?<![\w.:])(?:{_IPV6})(?![\w:]|\.\w)|(?<![\w.])(?:{_IPV4})(?!\w|\.\w)",
)


@dataclass(frozen=True)
class _Rewriter:
    """Maps one value at a time and records it under its path."""

    mapping: tuple[IpPair, ...]
    record: Callable[[str, str, str], None]

    def map(self, address: Address) -> Address | None:
        """The address at the same offset in DST, or ``None`` outside every SRC."""
        for src, dst in self.mapping:
            if address.version == src.version and address in src:
                return dst.network_address + (int(address) - int(src.network_address))
        return None

    def address(self, parent: Any, key: Segment, path: Path) -> bool:
        """A value that *is* an address: mapped (True), or reported as left alone (False).

        Anything that is no address (``None`` of a headless Service, empty) is left silently.
        """
        before = get(parent, key)
        parsed = _parse_address(before)
        if parsed is None:
            return False
        mapped = self.map(parsed)
        if mapped is None:
            self.record(render_path(path) + NOT_MAPPED, before, before)
            return False
        self.set(parent, key, path, str(mapped))
        return True

    def text(self, parent: Any, key: Segment, path: Path) -> None:
        """Free text: whole addresses in a mapped range change, everything else stays."""
        before = get(parent, key)
        if isinstance(before, str):
            self.set(parent, key, path, _ADDRESS.sub(self._in_text, before))

    def set(self, parent: Any, key: Segment, path: Path, after: str) -> None:
        """Put ``after`` at ``parent[key]``, recording it if that is a change."""
        before = get(parent, key)
        if after != before:
            parent[key] = after
            self.record(render_path(path), "" if before is None else str(before), after)

    def _in_text(self, match: re.Match[str]) -> str:
        parsed = _parse_address(match.group())
        mapped = None if parsed is None else self.map(parsed)
        return match.group() if mapped is None else str(mapped)


def _parse_address(value: Any) -> Address | None:
    """An address as the apiserver writes one; anything else (``None``, ``""``) is none."""
    if not isinstance(value, str):
        return None
    try:
        return ip_address(value)
    except ValueError:
        return None


# -- the rules: one place addresses live each, in the order they run ------------------------

Rule = Callable[[Object, _Rewriter], None]


def _service_cluster_ips(obj: Object, rw: _Rewriter) -> None:
    """``clusterIP`` and ``clusterIPs``; once one is mapped the Service is marked, because
    import otherwise clears them for the destination to allocate anew."""
    spec = _service_spec(obj)
    if spec is None:
        return
    mapped = [rw.address(spec, CLUSTER_IP, ("spec", CLUSTER_IP))]
    cluster_ips = spec.get(CLUSTER_IPS)
    for j in indices(spec, CLUSTER_IPS):
        mapped.append(rw.address(cluster_ips, j, ("spec", CLUSTER_IPS, j)))
    if any(mapped):
        _keep_cluster_ips(obj, rw)


def _keep_cluster_ips(obj: Object, rw: _Rewriter) -> None:
    """The mark import looks for (and removes) before it would clear the cluster IPs."""
    metadata = dict_at(obj, "metadata")
    if metadata is None:
        return
    if metadata.get("annotations") is None:
        metadata["annotations"] = {}
    annotations = metadata["annotations"]
    if isinstance(annotations, dict):
        path = ("metadata", "annotations", KEEP_CLUSTER_IPS)
        rw.set(annotations, KEEP_CLUSTER_IPS, path, "true")


def _service_external_ips(obj: Object, rw: _Rewriter) -> None:
    """``externalIPs``: addresses the nodes accept traffic for, often in a mapped network."""
    spec = _service_spec(obj)
    external_ips = get(spec, EXTERNAL_IPS)
    for j in indices(spec, EXTERNAL_IPS):
        rw.address(external_ips, j, ("spec", EXTERNAL_IPS, j))


def _service_load_balancer_ip(obj: Object, rw: _Rewriter) -> None:
    """``loadBalancerIP``: the address a user asked the load balancer for."""
    rw.address(_service_spec(obj), LOAD_BALANCER_IP, ("spec", LOAD_BALANCER_IP))


def _service_spec(obj: Object) -> dict[str, Any] | None:
    return dict_at(obj, "spec") if group_kind_of(obj) == SERVICE else None


def _endpoints(obj: Object, rw: _Rewriter) -> None:
    """Ready and not-ready addresses of hand-written Endpoints (selector-less Services)."""
    if group_kind_of(obj) != ENDPOINTS:
        return
    for i, subset in dicts(obj, "subsets"):
        for list_name in ENDPOINT_ADDRESS_LISTS:
            for j, address in dicts(subset, list_name):
                rw.address(address, "ip", ("subsets", i, list_name, j, "ip"))


def _endpoint_slice(obj: Object, rw: _Rewriter) -> None:
    """Endpoint addresses of an IPv4 or IPv6 EndpointSlice, at any version."""
    if group_kind_of(obj) != ENDPOINT_SLICE:
        return
    if obj.get("addressType") not in IP_ADDRESS_TYPES:
        return
    for i, endpoint in dicts(obj, "endpoints"):
        addresses = endpoint.get("addresses")
        for j in indices(endpoint, "addresses"):
            rw.address(addresses, j, ("endpoints", i, "addresses", j))


def _config_map_data(obj: Object, rw: _Rewriter) -> None:
    """Text configuration (``data``; ``binaryData`` is opaque)."""
    if group_kind_of(obj) != ("", "ConfigMap"):
        return
    data = dict_at(obj, "data")
    for key in list(data or {}):
        rw.text(data, key, ("data", key))


def _container_env(obj: Object, rw: _Rewriter) -> None:
    """Env values of every container of every pod spec or template: where applications are
    most often handed an address."""
    for container, at in pod_containers(obj):
        for j, variable in dicts(container, "env"):
            rw.text(variable, "value", (*at, "env", j, "value"))


RULES: tuple[Rule, ...] = (
    _service_cluster_ips,
    _service_external_ips,
    _service_load_balancer_ip,
    _endpoints,
    _endpoint_slice,
)

# With ``--map-ip-in-data`` only: text, where only addresses in a mapped range are touched.
DATA_RULES: tuple[Rule, ...] = (
    _config_map_data,
    _container_env,
)
