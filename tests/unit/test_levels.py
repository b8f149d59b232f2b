"""Definitions before resources; unknown kinds are placed by what they reference."""

from __future__ import annotations

from kbundle.core.levels import LEVELS, level_for


def test_table_orders_definitions_before_what_uses_them() -> None:
    def level(kind: str) -> int:
        return level_for(kind, is_custom_resource=False).number

    assert level("CustomResourceDefinition.apiextensions.k8s.io") < level("Namespace")
    assert level("Namespace") < level("StorageClass.storage.k8s.io") < level("PersistentVolume")
    assert level("PersistentVolume") < level("PersistentVolumeClaim")
    assert level("ServiceAccount") < level("Deployment.apps")
    assert level("ConfigMap") < level("Deployment.apps") < level("Ingress.networking.k8s.io")
    assert level("Ingress.networking.k8s.io") < level(
        "ValidatingWebhookConfiguration.admissionregistration.k8s.io"
    )


def test_every_level_has_a_reason_and_a_unique_number() -> None:
    assert [level.number for level in LEVELS] == list(range(len(LEVELS)))
    assert all(level.reason for level in LEVELS)


def test_custom_resources_share_their_level() -> None:
    level = level_for("Widget.example.com", is_custom_resource=True, referenced=["ConfigMap"])
    assert level.name == "custom-resources"


def test_unknown_kind_lands_after_the_highest_kind_it_references() -> None:
    assert (
        level_for(
            "Thing.example.org",
            is_custom_resource=False,
            referenced=["ConfigMap", "ServiceAccount"],
        ).name
        == "claims"
    )
    assert (
        level_for(
            "Thing.example.org", is_custom_resource=False, referenced=["Deployment.apps"]
        ).name
        == "routing-and-scaling"
    )


def test_unknown_kind_referencing_nothing_comes_right_after_namespaces() -> None:
    assert level_for("CSIDriver.storage.k8s.io", is_custom_resource=False).name == (
        "cluster-definitions"
    )


def test_unknown_kind_is_never_dropped_even_referencing_the_last_level() -> None:
    level = level_for(
        "Thing.example.org",
        is_custom_resource=False,
        referenced=["APIService.apiregistration.k8s.io"],
    )
    assert level.number == LEVELS[-1].number
