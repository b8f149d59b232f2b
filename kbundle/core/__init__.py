"""The bottom layer: values and knowledge every stage shares, with no I/O of their own.

Object references and the manifest (``model``), dependency levels (``levels``), what
kbundle knows about each kind (``kinds``) and about names (``names``), field paths
(``fieldpath``), label selectors (``selectors``), errors and exit codes (``errors``).
"""
