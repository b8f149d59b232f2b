"""What would change: two versions of the same objects, compared field by field.

Pure, like ``kbundle.clean``: no I/O, no cluster. ``compare`` takes one object as it is and
as it would be (a live object and the server's dry-run answer, or the same object in two
bundles) and says how they differ, as field changes and as a unified diff. Both sides are
cleaned the same way first (``comparable``), so only real differences show, and Secret
values are masked on both sides before any text is made (``secret_safe``).

The modules are imported one by one (``kbundle.diff.compare``, ``kbundle.diff.model``...):
the CLI loads the result types without the YAML dumper.
"""
