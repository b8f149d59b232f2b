"""Bundles that live elsewhere: OCI registries and layouts (``oci``, ``layout``), object
storage (``storage``), and where a reference points (``refs``, light: the CLI parses with it).

Every transfer lands in or leaves from a local file: nothing is used from a remote bundle
until it has been fully downloaded, its digests checked, and verified as a file is.
"""
