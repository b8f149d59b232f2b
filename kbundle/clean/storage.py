"""Rules for PersistentVolumeClaims and PersistentVolumes: undo the source's binding.

The destination's volume controller binds claims to volumes again; bind annotations and
UIDs from the source would make it believe a binding it never made.
"""

from __future__ import annotations

from kbundle.clean.core import Target, child, pop_keys, remove_annotations

CLAIM_BIND_ANNOTATIONS = (
    "pv.kubernetes.io/bind-completed",
    "pv.kubernetes.io/bound-by-controller",
    "volume.beta.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/storage-provisioner",
    "volume.kubernetes.io/selected-node",
)


def drop_claim_bind_annotations(target: Target) -> None:
    remove_annotations(target, *CLAIM_BIND_ANNOTATIONS)


def drop_volume_name_outside_bundle(target: Target) -> None:
    """A claim pinned to a volume the destination will not have would stay Pending forever."""
    spec = child(target.obj, "spec")
    volume = spec.get("volumeName") if spec else None
    if spec is None or not volume or volume in target.context.exported_persistent_volumes:
        return
    del spec["volumeName"]
    target.note(
        "volume-outside-bundle",
        f"spec.volumeName {volume} removed: that PersistentVolume is not in the bundle, "
        "so the destination binds or provisions another",
    )


def drop_volume_bind_annotation(target: Target) -> None:
    """``provisioned-by`` stays: it tells the destination's provisioner the volume is its own."""
    remove_annotations(target, "pv.kubernetes.io/bound-by-controller")


def drop_claim_ref_identity(target: Target) -> None:
    """A claimRef with a foreign claim UID makes the destination mark the volume Released."""
    pop_keys(child(target.obj, "spec", "claimRef"), "uid", "resourceVersion")
