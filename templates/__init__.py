"""Rule templates of s2s: one small Python function per primitive (see s2s.rules)."""
