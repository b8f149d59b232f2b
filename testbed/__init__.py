"""Real local Kubernetes control planes for kbundle's tests and demo.

Run ``python -m testbed --help``. From Python: ``bring_up(root)`` starts the
source/destination pair, ``LocalCluster`` controls one cluster and its components.
"""

from testbed.binaries import Binaries, BinariesNotFound, locate
from testbed.clusters import (
    ROLES,
    ClusterUnderTest,
    ExistingCluster,
    FaultInjectionUnavailable,
    OwnedLocalCluster,
    bring_up,
    existing_clusters_from_env,
    tear_down,
)
from testbed.local_cluster import COMPONENTS, LocalCluster, start_clusters

__all__ = [
    "COMPONENTS",
    "ROLES",
    "Binaries",
    "BinariesNotFound",
    "ClusterUnderTest",
    "ExistingCluster",
    "FaultInjectionUnavailable",
    "LocalCluster",
    "OwnedLocalCluster",
    "bring_up",
    "existing_clusters_from_env",
    "locate",
    "start_clusters",
    "tear_down",
]
