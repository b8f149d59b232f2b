"""kbundle: move Kubernetes objects between clusters through one verifiable bundle file."""

__version__ = "0.1.0"
