"""Every file a plan bundle holds is written from here: notebook HTML, the index page, CSV, Excel, the manifest.

Each writer gives the same bytes for the same inputs (no clocks, random ids or
unordered rows), works offline (no CDN address), and treats data as text, never
as markup or formulas.

The pages come from ``planlib.report.pages``, CSV and Excel from ``planlib.report.tables``; the manifest
and the bundle's hashes are written here, and every writer is importable from this module.
"""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np

from planlib.core.text import FORMULA_PREFIXES
from planlib.data.readers import file_sha256
from planlib.report.pages import PAGE_CSS, _write_text, export_notebook_html, inline_svg, sanitize_html, write_index
from planlib.report.tables import Sheet, display_width, money_format, neutralise, write_csv, write_excel


# --------------------------------------------------------------------------- manifest and hashes
def _json_default(value: object) -> object:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, Path):
        return value.as_posix()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"manifest value of type {type(value).__name__} cannot be written as JSON: {value!r}")


def write_manifest(path: str | Path, manifest: Mapping[str, object]) -> Path:
    """Write ``manifest`` as sorted, indented UTF-8 JSON (Chinese kept as is) ending with a newline.

    Dates become ISO strings and paths POSIX strings; NaN is refused (not valid JSON).

    Raises
    ------
    TypeError
        For a value with no JSON form.
    ValueError
        For NaN or infinity.
    """
    text = json.dumps(manifest, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False,
                      default=_json_default)
    return _write_text(Path(path), text + "\n")


def bundle_files_hash(folder: str | Path, *, exclude: Iterable[str] = ()) -> dict[str, str]:
    """Return {relative POSIX path: sha256} of every file under ``folder``, sorted by path.

    Two runs of the same plan give the same mapping; ``exclude`` (relative paths)
    leaves out files that list the hashes themselves.
    """
    root = Path(folder)
    skip = set(exclude)
    out = {}
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = file.relative_to(root).as_posix()
        if rel not in skip:
            out[rel] = file_sha256(file)
    return dict(sorted(out.items()))


__all__ = [
    "FORMULA_PREFIXES", "PAGE_CSS", "Sheet", "bundle_files_hash", "display_width", "export_notebook_html",
    "file_sha256", "inline_svg", "money_format", "neutralise", "sanitize_html", "write_csv", "write_excel",
    "write_index", "write_manifest",
]
