"""Rendering from run folders: solution maps (``maps``) and reports."""
