"""Property-based fuzz suite: hostile inputs against the real CLI and library.

Every input the generators mark as bad must end in one ``nfv: error:`` line,
a documented non-zero exit code, no traceback, an unchanged store and key
directory, within 2 s and 200 MB. ``NFV_FUZZ_PROFILE=long`` runs many more
cases; ``NFV_FUZZ_COUNT=1`` counts violations instead of failing on the first.
"""
