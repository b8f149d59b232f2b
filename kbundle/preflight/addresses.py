"""Fixed cluster IPs and nodePorts that the destination cannot give.

A Service keeps its cluster IPs only when an IP mapping moved them (import clears them
otherwise), and keeps the nodePorts a user set. Either can be taken by another Service of
the destination (one list of its Services says which, and by whom), and either can lie
outside the destination's range:

- the service range cannot be read through the API, but the apiserver's own Service
  (``default/kubernetes``) gets the range's first address, and an apiserver refuses a range
  of more than 2^20 addresses: an IP outside the widest range that fits both is surely
  refused;
- the nodePort range cannot be read either: a port outside the default 30000-32767 is a
  warning unless the destination already uses ports outside it (then its range was changed).

A server dry run (``kbundle preflight``) adds the server's own answer where the server checks
(nodePorts taken on every version; ranges on newer apiservers than 1.20).
"""

from __future__ import annotations

from collections.abc import Iterator
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network

from kbundle.cluster import ApiError
from kbundle.core.kinds import CLUSTER_IP, CLUSTER_IPS, HEADLESS, SERVICE
from kbundle.core.model import Object, ObjectRef
from kbundle.preflight.model import Code, Finding, Severity
from kbundle.preflight.scene import Planned, Scene

DEFAULT_NODE_PORTS = range(30000, 32768)
MAX_RANGE_HOST_BITS = 20  # kube-apiserver: "--service-cluster-ip-range is too large"
APISERVER_SERVICE = ObjectRef("", "Service", "default", "kubernetes")
NO_IP = ("", HEADLESS)


def check_addresses(scene: Scene) -> list[Finding]:
    services = list(scene.planned.of_kind(*SERVICE))
    if not any(fixed_ips(p.obj) or node_ports(p.obj) for p in services):
        return []
    try:
        listed = scene.list_all(*SERVICE) or []
    except ApiError as error:
        scene.not_checked("the destination's Services (taken cluster IPs and nodePorts)", error)
        return []
    ips: dict[str, ObjectRef] = {}
    ports: dict[int, ObjectRef] = {}
    for live in listed:
        ref = ObjectRef.of(live)
        ips.update(dict.fromkeys(fixed_ips(live), ref))
        ports.update(dict.fromkeys(node_ports(live), ref))
    first = next((ip for ip, ref in ips.items() if ref == APISERVER_SERVICE), None)
    widest = widest_service_range(first) if first else None
    custom_ports = any(port not in DEFAULT_NODE_PORTS for port in ports)
    findings: list[Finding] = []
    for planned in services:
        findings += _ips(planned, ips, widest)
        findings += _ports(planned, ports, custom_ports)
        # a later Service of the bundle cannot have the same ones
        ips.update({ip: planned.ref for ip in fixed_ips(planned.obj) if ip not in ips})
        ports.update({p: planned.ref for p in node_ports(planned.obj) if p not in ports})
    return findings


def fixed_ips(service: Object) -> list[str]:
    spec = service.get("spec") or {}
    found = [spec.get(CLUSTER_IP), *(spec.get(CLUSTER_IPS) or [])]
    return sorted({ip for ip in found if isinstance(ip, str) and ip not in NO_IP})


def node_ports(service: Object) -> list[int]:
    spec = service.get("spec") or {}
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return []
    found = (p.get("nodePort") for p in spec.get("ports") or [] if isinstance(p, dict))
    return sorted({port for port in found if isinstance(port, int) and port})


def widest_service_range(first: str) -> IPv4Network | IPv6Network:
    """The widest service range whose first address is ``first``: the network address
    before it, with as many host bits as its trailing zeros allow, at most 20."""
    address = ip_address(first)
    base = int(address) - 1
    host_bits = 0
    while host_bits < MAX_RANGE_HOST_BITS and not (base >> host_bits) & 1:
        host_bits += 1
    return ip_network((base, address.max_prefixlen - host_bits))


def _ips(
    planned: Planned,
    taken: dict[str, ObjectRef],
    widest: IPv4Network | IPv6Network | None,
) -> Iterator[Finding]:
    for ip in fixed_ips(planned.obj):
        holder = taken.get(ip)
        if holder is not None and holder != planned.ref:
            yield Finding(
                Code.CLUSTER_IP_TAKEN,
                Severity.BLOCKER,
                f"{planned.ref} keeps cluster IP {ip}, which {holder} already has",
                (planned.ref,),
                "let the destination allocate one (no --map-ip for it), or map it to a free "
                "address with --map-ip",
            )
        address = ip_address(ip)
        if widest is not None and address.version == widest.version and address not in widest:
            yield Finding(
                Code.CLUSTER_IP_OUT_OF_RANGE,
                Severity.BLOCKER,
                f"{planned.ref} keeps cluster IP {ip}, outside the destination's service range "
                f"(it starts at {widest.network_address}, at most {widest})",
                (planned.ref,),
                f"map it into the destination's range (--map-ip SRC=DST, DST in {widest}), or "
                "let the destination allocate one (no --map-ip for it)",
            )


def _ports(planned: Planned, taken: dict[int, ObjectRef], custom: bool) -> Iterator[Finding]:
    for port in node_ports(planned.obj):
        holder = taken.get(port)
        if holder is not None and holder != planned.ref:
            yield Finding(
                Code.NODE_PORT_TAKEN,
                Severity.BLOCKER,
                f"{planned.ref} asks for nodePort {port}, which {holder} already has",
                (planned.ref,),
                f"free nodePort {port} in the destination first, or let the destination "
                "allocate one: --remove-field spec.ports[*].nodePort",
            )
        elif port not in DEFAULT_NODE_PORTS and not custom:
            yield Finding(
                Code.NODE_PORT_OUT_OF_RANGE,
                Severity.WARNING,
                f"{planned.ref} asks for nodePort {port}, outside the default range "
                f"{DEFAULT_NODE_PORTS.start}-{DEFAULT_NODE_PORTS.stop - 1} (the destination's "
                "range cannot be read through the API)",
                (planned.ref,),
                "check the destination's --service-node-port-range, or let it allocate one: "
                "--remove-field spec.ports[*].nodePort",
            )
