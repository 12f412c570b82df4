"""The sample bundle, byte for byte: every page, table and workbook against the sums committed in
tests/sample_bundle.sha256 (notebooks by their outputs, since their code may be edited without changing
a figure). A refactoring keeps them; a change of numbers updates them on purpose, in the same commit.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest
from sample_bundle import sample_bundle  # noqa: F401  (the session fixture of the one full run)

SUMS = Path(__file__).with_name("sample_bundle.sha256")
FONT_DIRS = ("/usr/share/fonts", "/usr/local/share/fonts", "~/.local/share/fonts", "~/.fonts")


def font_fingerprint() -> str:
    """Return the sha256 of the font files the chart renderer can find (name and size of each).

    vl-convert lays out chart text with the system's fonts (the theme asks for Noto Sans CJK SC first),
    so the SVG in every page depends on them: the sums hold only on a machine with the same fonts.
    """
    found = []
    for root in map(Path, map(os.path.expanduser, FONT_DIRS)):
        if root.is_dir():
            found += [f"{p.name}:{p.stat().st_size}" for p in root.rglob("*")
                      if p.suffix.lower() in (".ttf", ".otf", ".ttc")]
    return hashlib.sha256("\n".join(sorted(found)).encode()).hexdigest()


def bundle_digests(folder: Path) -> dict[str, str]:
    """Return file name -> sha256 of a bundle's files (a notebook's code cells' outputs; no manifest)."""
    out = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.name == "manifest.json":  # the manifest holds code hashes
            continue
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
            data = json.dumps([c.get("outputs", []) for c in cells if c["cell_type"] == "code"], sort_keys=True)
            out[path.name] = hashlib.sha256(data.encode()).hexdigest()
        else:
            out[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def committed_digests() -> dict[str, str]:
    out = {}
    for line in SUMS.read_text(encoding="utf-8").splitlines():
        if line.startswith("# fonts: "):
            out["(fonts)"] = line.split()[2]
        elif line.strip() and not line.startswith("#"):
            digest, name = line.split()[:2]
            out[name] = digest
    return out


def test_the_sample_bundle_is_byte_identical_to_the_committed_sums(sample_bundle):  # noqa: F811
    expected = committed_digests()
    fonts = expected.pop("(fonts)")
    if font_fingerprint() != fonts:
        pytest.skip(f"the sums in {SUMS.name} were made with other fonts installed (fonts {fonts[:12]}, here "
                    f"{font_fingerprint()[:12]}); chart text is laid out with the system's fonts. Install the same "
                    "(apt-get install -y chromium fonts-noto-cjk, as .ci/run does) to compare byte for byte")
    found = bundle_digests(sample_bundle.bundle)
    changed = sorted(name for name in expected.keys() | found.keys() if expected.get(name) != found.get(name))
    listing = "\n".join(f"{found.get(n, '(missing)')} {n}" for n in sorted(found))
    assert changed == [], (f"files of the sample bundle differ from {SUMS.name}: {changed}. If that is on purpose, "
                           f"put these sums into it:\n{listing}")


def test_the_digest_sees_a_changed_figure_and_ignores_a_changed_line_of_code(tmp_path):
    nb = {"cells": [{"cell_type": "code", "source": "x = 1", "outputs": [{"text": "1"}]}]}
    (tmp_path / "a.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    (tmp_path / "targets.csv").write_text("level,target\ncompany,10\n", encoding="utf-8")
    before = bundle_digests(tmp_path)
    nb["cells"][0]["source"] = "x = 0 + 1"
    (tmp_path / "a.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    assert bundle_digests(tmp_path) == before
    (tmp_path / "targets.csv").write_text("level,target\ncompany,11\n", encoding="utf-8")
    assert bundle_digests(tmp_path)["targets.csv"] != before["targets.csv"]
    assert before["targets.csv"] == hashlib.sha256(b"level,target\ncompany,10\n").hexdigest()
