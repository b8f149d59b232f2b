"""The verbs: one library function per command, typed options in, typed result out, nothing
printed. The CLI and Python programs call the same functions (``kbundle.__all__``).

Each verb module imports only what its command uses: the offline verbs (verify, inspect,
transform, render, sign, keygen) never load the cluster layer.
"""
