"""Every cleaning rule, in the order it runs, each with the reason it exists.

Rules edit a deep copy and read provenance from the untouched original, so their order
matters only where stated: ``empty-label-maps`` runs last to tidy what the others emptied.
"""

from __future__ import annotations

from kbundle.clean import identity, metadata, services, storage, workloads
from kbundle.clean.core import Rule, kinds

RULES: tuple[Rule, ...] = (
    # -- every object ----------------------------------------------------------------------
    Rule(
        "status",
        None,
        metadata.drop_status,
        "observed state: the destination's controllers write their own",
    ),
    Rule(
        "server-metadata",
        None,
        metadata.drop_server_metadata,
        "uid, resourceVersion, timestamps, managedFields... are the source apiserver's",
    ),
    Rule(
        "last-applied",
        None,
        metadata.drop_last_applied,
        "kubectl's copy of an earlier manifest: stale noise on the destination",
    ),
    Rule(
        "owners-in-bundle",
        None,
        metadata.keep_owners_in_bundle,
        "an owner missing on the destination makes its garbage collector delete the object",
    ),
    # -- workloads -------------------------------------------------------------------------
    Rule(
        "deployment-revision",
        kinds(("apps", "Deployment")),
        workloads.drop_deployment_revision,
        "the deployment controller counts rollouts per cluster",
    ),
    Rule(
        "pod-node-name",
        kinds(("", "Pod")),
        workloads.drop_node_name,
        "names a source node; the destination's scheduler picks its own",
    ),
    Rule(
        "pod-token-volume",
        kinds(("", "Pod")),
        workloads.drop_injected_token_volume,
        "admission injected it from a source Secret; the destination injects its own",
    ),
    Rule(
        "pod-priority",
        kinds(("", "Pod")),
        workloads.drop_pod_priority,
        "admission computes it from the priority class, whose value may differ there",
    ),
    Rule(
        "autoscaler-status-annotations",
        kinds(("autoscaling", "HorizontalPodAutoscaler")),
        workloads.drop_autoscaler_status_annotations,
        "autoscaling/v1 keeps the controller's conditions and metrics in annotations",
    ),
    Rule(
        "job-generated-selector",
        kinds(("batch", "Job")),
        workloads.drop_generated_job_selector,
        "built from the source Job's UID; the destination rejects a foreign controller-uid",
    ),
    Rule(
        "template-timestamp",
        workloads.TEMPLATE_OWNERS,
        workloads.drop_template_timestamps,
        "creationTimestamp: null in templates is serialisation noise",
    ),
    Rule(
        "claim-templates",
        kinds(("apps", "StatefulSet")),
        workloads.clean_claim_templates,
        "status and timestamp in volumeClaimTemplates are defaults, not intent",
    ),
    # -- identity --------------------------------------------------------------------------
    Rule(
        "sa-generated-tokens",
        kinds(("", "ServiceAccount")),
        identity.drop_generated_token_references,
        "generated token Secrets are not exported; the destination generates its own",
    ),
    Rule(
        "user-token-secret",
        kinds(("", "Secret")),
        identity.reset_user_token_secret,
        "source token and SA UID are foreign; the destination's token controller refills it",
    ),
    # -- networking ------------------------------------------------------------------------
    Rule(
        "service-node-ports",
        kinds(("", "Service")),
        services.keep_user_set_node_ports,
        "allocated nodePorts may be taken on the destination; user-set ones are intent",
    ),
    Rule(
        "endpoints-trigger-time",
        kinds(("", "Endpoints")),
        services.drop_endpoints_trigger_time,
        "the endpoints controller's bookkeeping on the source",
    ),
    # -- storage ---------------------------------------------------------------------------
    Rule(
        "claim-bind-annotations",
        kinds(("", "PersistentVolumeClaim")),
        storage.drop_claim_bind_annotations,
        "the source volume controller's binding state; the destination binds again",
    ),
    Rule(
        "claim-volume-outside-bundle",
        kinds(("", "PersistentVolumeClaim")),
        storage.drop_volume_name_outside_bundle,
        "a claim pinned to a volume the destination lacks stays Pending forever",
    ),
    Rule(
        "volume-bind-annotation",
        kinds(("", "PersistentVolume")),
        storage.drop_volume_bind_annotation,
        "the source volume controller's binding state; provisioned-by stays",
    ),
    Rule(
        "volume-claim-ref-identity",
        kinds(("", "PersistentVolume")),
        storage.drop_claim_ref_identity,
        "a foreign claim UID makes the destination mark the volume Released",
    ),
    # -- last ------------------------------------------------------------------------------
    Rule(
        "empty-label-maps",
        None,
        metadata.drop_empty_label_maps,
        "annotations or labels emptied by the rules above mean the same as none",
    ),
)
