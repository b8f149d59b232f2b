"""Everything that talks to a cluster. Only ``connection`` imports the official client's
configuration loading; callers see Cluster, ApiResource and kbundle's own errors."""

from kbundle.cluster.api import DEFAULT_PAGE_SIZE, Cluster, KindNotServed, Object
from kbundle.cluster.connection import connect
from kbundle.cluster.discovery import ApiResource, Discovery
from kbundle.cluster.transport import ApiError, Target, Unreachable


def open_cluster(
    kubeconfig: str | None = None,
    context: str | None = None,
    *,
    pool_size: int = 16,
    page_size: int = DEFAULT_PAGE_SIZE,
) -> Cluster:
    """Connect to ``context`` of ``kubeconfig`` (kubectl's defaults apply)."""
    return Cluster(connect(kubeconfig, context, pool_size=pool_size), page_size=page_size)


__all__ = [
    "ApiError",
    "ApiResource",
    "Cluster",
    "Discovery",
    "KindNotServed",
    "Object",
    "Target",
    "Unreachable",
    "connect",
    "open_cluster",
]
