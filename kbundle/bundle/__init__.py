"""The bundle: its format (``layout``), canonical YAML, the deterministic writer, the safe
reader, verification, Secret encryption, signatures, and trust (``accept_bundle``).

Import the module you need (``kbundle.bundle.reader``...): this package loads nothing by
itself, so light modules such as ``passphrase`` cost nothing to import.
"""
