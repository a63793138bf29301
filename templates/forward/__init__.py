"""Forward-mode (tangent) rule templates, one small function per primitive."""
