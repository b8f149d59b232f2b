"""Importing this module registers every built-in transform with the registry."""

from kbundle.transforms import edits, images, ips, namespaces, storage

__all__ = ["edits", "images", "ips", "namespaces", "storage"]
