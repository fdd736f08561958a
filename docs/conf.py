"""Sphinx configuration: builds offline with  sphinx-build -b html docs docs/_build/html."""
from __future__ import annotations

import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

project = "spherecodes"
author = "spherecodes contributors"
copyright = "2026, spherecodes contributors"
try:
    from spherecodes import __version__ as release
except Exception:  # pragma: no cover
    release = "0.1.0"
version = release

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
master_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "tables/*.md", "tables/disagreements"]
myst_enable_extensions = ["dollarmath", "colon_fence"]
myst_heading_anchors = 3
# "ref.python": type fields such as "ndarray, shape (d, K)" make Sphinx look up
# `d` and `K`, which several result classes define as attributes.
suppress_warnings = ["myst.header", "ref.python"]

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_use_param = False
napoleon_use_ivar = True
autodoc_member_order = "bysource"
autodoc_typehints = "none"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
autosummary_generate = False
# torch is optional: document spherecodes.train without importing it
autodoc_mock_imports = ["torch", "torchvision", "distributed"]

html_theme = "alabaster"
html_static_path: list[str] = []
html_theme_options = {"description": "Softmax Codes, Tammes codes and generalized neural collapse"}
# The build needs no network; MathJax is loaded by the browser when the pages are viewed.


def _write_cli_help():
    """Dump `spherecodes SUBCOMMAND --help` into _generated/ so the CLI reference stays in sync."""
    out = HERE / "_build" / "cli-help"
    out.mkdir(parents=True, exist_ok=True)
    os.environ["COLUMNS"] = "100"
    from spherecodes.cli import build_parser

    parser = build_parser()
    texts = {"spherecodes": parser.format_help()}
    for action in parser._actions:  # noqa: SLF001 - argparse has no public accessor
        if getattr(action, "choices", None) and isinstance(action.choices, dict):
            for name, sub in action.choices.items():
                if name != "train":
                    texts[name] = sub.format_help()
    for name, text in texts.items():
        path = out / f"cli-{name}.txt"
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


_write_cli_help()
