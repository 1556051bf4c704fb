"""Sphinx configuration for the nfvkit documentation."""

project = "nfvkit"
extensions = ["sphinx.ext.autodoc", "cliff.sphinxext"]
autoprogram_cliff_application = "nfv"
master_doc = "index"
exclude_patterns = ["_build"]
html_theme = "alabaster"
