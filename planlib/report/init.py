"""``planlib init``: write a config (and, without a roster, a reps.csv) inferred from a sales export.

The inference is :mod:`planlib.data.infer`; this module only writes its result, never over a file that exists.
"""
from __future__ import annotations

from pathlib import Path

from planlib.core.errors import ConfigError
from planlib.data.infer import Inference, infer_config, infer_roster, render_config
from planlib.data.parsers import parse_date
from planlib.data.presets import outcome_of, preset_columns
from planlib.data.readers import read_source

__all__ = ["init_project"]


def _sales_for_roster(found: Inference):
    """The closed deals (rep_id, date, region) and, for a CRM preset, the owners of open deals."""
    import pandas as pd

    from planlib.core.config_targets import DataSource

    raw = read_source(DataSource(path=found.path), "sales", lambda p: Path(p))
    cols = found.columns

    def column(name):
        return raw.frame[raw.header.index(cols[name])]

    sales = pd.DataFrame({"rep_id": column("rep_id").astype(str),
                          "date": parse_date(column("date"), dayfirst=found.dayfirst).values})
    if "region" in cols:
        sales["region"] = column("region").astype(str).where(column("region").astype(str).str.strip() != "")
    named = sales["rep_id"].str.strip() != ""
    if not found.preset:
        return sales[sales["date"].notna() & named], ()
    outcome = outcome_of(raw.frame, raw.header, found.preset, preset_columns(found.preset, raw.header))
    closed = (outcome != "open").to_numpy()
    pipeline_owners = sorted(set(sales["rep_id"][~closed & named.to_numpy()]))
    return sales[closed & sales["date"].notna().to_numpy() & named.to_numpy()], pipeline_owners


def init_project(sales_file: str | Path, *, reps_file: str | Path | None = None,
                 out: str | Path | None = None) -> tuple[Path, Path | None, Inference]:
    """Infer a config from ``sales_file`` and write it to ``out`` (default: plan.yaml beside the file).

    Without ``reps_file`` the roster is inferred from the deal owners and written as ``reps.csv`` beside the
    config, for the user to complete.

    Returns
    -------
    (config path, reps path or None, the Inference)

    Raises
    ------
    ConfigError
        If the config (or the reps.csv it would write) exists already, or the owner column was not found.
    DataError
        If the export cannot be read.
    """
    sales_file = Path(sales_file).resolve()
    out = Path(out) if out else sales_file.parent / "plan.yaml"
    out = out.resolve()
    if out.exists():
        raise ConfigError([("--out", f"{out} exists; planlib init never writes over a config: choose another "
                                     "name with --out")])
    found = infer_config(sales_file)
    reps_path = Path(reps_file).resolve() if reps_file else None
    inferred = reps_path is None
    if inferred:
        if "rep_id" not in found.columns:
            raise ConfigError([("data.sales.columns.rep_id", f"no column of {sales_file.name} names the deal's owner "
                                                            "(e.g. 'Deal owner', '负责人'): give the roster with --reps")])
        reps_path = out.parent / "reps.csv"
        if reps_path.exists():
            raise ConfigError([("--reps", f"{reps_path} exists; pass it with --reps, or move it, so that init does "
                                          "not write over it")])
        closed, pipeline_owners = _sales_for_roster(found)
        roster = infer_roster(closed, as_of=found.as_of, pipeline_owners=pipeline_owners)
        out.parent.mkdir(parents=True, exist_ok=True)
        roster.to_csv(reps_path, index=False, encoding="utf-8")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_config(found, config_dir=out.parent, reps_path=reps_path, roster_inferred=inferred),
                   encoding="utf-8")
    return out, reps_path if inferred else None, found
