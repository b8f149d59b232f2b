"""Preflight: what the destination lacks for a bundle, found before anything is sent.

Each check family is a module of its own (kinds, references, addresses, webhooks, quotas,
access, conflicts); ``runner`` composes them at two depths, and ``gate`` is what ``import``
calls first. Findings name objects and never carry an object's data, so never a Secret value.

Light on purpose: the CLI imports ``model`` (the mode enum) before it knows which command
runs, so this package loads nothing by itself.
"""
