"""The plan of record as a review reads it: a published bundle's targets and resolved config, checked
against the sha256 sums of its manifest so that an edited plan is never reviewed.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from planlib.core.config import parse_config
from planlib.core.errors import ConfigError, DataError
from planlib.core.text import FORMULA_PREFIXES
from planlib.data.readers import file_sha256

__all__ = ["PlanOfRecord", "plan_bundle_fingerprint", "read_plan_bundle"]

_TARGET_TEXT = ("level", "entity", "product", "period_type", "period")


@dataclass(frozen=True)
class PlanOfRecord:
    """The plan a review checks: its name, its resolved config and its long targets table."""

    name: str
    config: object  # planlib.core.config.PlanConfig as the plan was made
    targets: pd.DataFrame
    fingerprint: str


def plan_bundle_fingerprint(folder: str | Path) -> str:
    """Return the sha256 of a plan bundle's manifest.json (which lists the hash of every other file).

    Raises
    ------
    ConfigError
        If the folder holds no manifest.json.
    """
    manifest_file = Path(folder) / "manifest.json"
    if not manifest_file.is_file():
        raise ConfigError([("review.plan", f"{folder} is not a plan bundle: it has no manifest.json")])
    return file_sha256(manifest_file)


def read_plan_bundle(folder: str | Path, *, base_dir: Path):
    """Read a published plan bundle as the plan of record of a review, checking it was not changed.

    Parameters
    ----------
    folder : str or Path
        The bundle, e.g. ``reports/FY2027/v001``.
    base_dir : Path
        The folder the bundle's config paths are relative to (the folder of the config file).

    Returns
    -------
    PlanOfRecord
        name (the folder's name), config (the resolved config of the manifest), targets (targets.csv with
        text cells as written before CSV neutralising), fingerprint (sha256 of manifest.json).

    Raises
    ------
    ConfigError
        Not a bundle, no targets.csv, or a manifest config that no longer validates.
    DataError
        targets.csv differs from the hash in manifest.json (the plan of record was edited).
    """
    folder = Path(folder)
    fingerprint = plan_bundle_fingerprint(folder)
    manifest_data = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    targets_file = folder / "targets.csv"
    if not targets_file.is_file():
        raise ConfigError([("review.plan", f"{folder} has no targets.csv: the plan of record has no targets")])
    recorded = manifest_data.get("files", {}).get("targets.csv")
    if recorded != file_sha256(targets_file):
        raise DataError(f"{targets_file} does not match the sha256 in its manifest.json ({recorded}): the plan of "
                        f"record was changed after it was published; review an unchanged bundle")
    targets = pd.read_csv(targets_file, encoding="utf-8-sig", dtype={c: str for c in _TARGET_TEXT},
                          keep_default_na=False, na_values={"target": [""]})
    for col in _TARGET_TEXT:
        # write_csv put a ' before text that Excel would run; the plan's own text is without it
        quoted = targets[col].str.startswith("'") & targets[col].str[1:2].isin(list(FORMULA_PREFIXES))
        targets.loc[quoted, col] = targets.loc[quoted, col].str[1:]
    targets["target"] = targets["target"].astype(float)
    config = parse_config(manifest_data["config"], base_dir=base_dir, source=str(folder / "manifest.json"))
    return PlanOfRecord(folder.name, config, targets, fingerprint)
