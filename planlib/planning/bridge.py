"""The bridge from the baseline forecast to the annual target: each series' plan-year baseline, the new-hire
capacity the baseline does not already expect, and the steps (baseline, + each initiative, + new hires, + the
gap) that add up to the target exactly; the ``bridge`` stage.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from planlib.core.errors import DataError
from planlib.core.graph import stage

__all__ = ["BASELINE_STEP", "Bridge", "HIRES_STEP", "bridge", "hire_credit", "plan_year_baseline"]

BASELINE_STEP = "Baseline forecast"
HIRES_STEP = "New-hire capacity"
GAP_STEP = "Still uncovered"
BEYOND_STEP = "Covered beyond target"
CAPACITY_STEP = "Beyond what the team can sell"
RESERVED_STEPS = (BASELINE_STEP, HIRES_STEP, CAPACITY_STEP, GAP_STEP, BEYOND_STEP)


def _whole(values) -> np.ndarray:
    """Round half away from zero to whole currency units (np.round would round half to even)."""
    x = np.asarray(values, dtype=float)
    return (np.sign(x) * np.floor(np.abs(x) + 0.5)).astype(np.int64)


# --------------------------------------------------------------------------- the baseline and the bridge
def plan_year_baseline(history: pd.DataFrame, forecasts: pd.DataFrame, months: pd.DatetimeIndex,
                       last_closed: pd.Timestamp) -> pd.DataFrame:
    """Return each series' plan-year baseline by month: closed months as booked, open months as forecast.

    Parameters
    ----------
    history : DataFrame
        The plan's monthly panel (unique_id, ds, y).
    forecasts : DataFrame
        ``ForecastResult.forecasts`` (unique_id, ds, yhat).
    months : DatetimeIndex
        The plan months.
    last_closed : Timestamp

    Returns
    -------
    DataFrame
        unique_id, ds, y, source ("actual" or "forecast"), for the series the forecast covers.
    """
    months = pd.DatetimeIndex(months)
    last_closed = pd.Timestamp(last_closed)
    closed, open_ = months[months <= last_closed], months[months > last_closed]
    series = forecasts["unique_id"].unique()
    booked = history.loc[history["unique_id"].isin(series) & history["ds"].isin(closed), ["unique_id", "ds", "y"]]
    ahead = forecasts.loc[forecasts["ds"].isin(open_), ["unique_id", "ds", "yhat"]].rename(columns={"yhat": "y"})
    out = pd.concat([booked.assign(source="actual"), ahead.assign(source="forecast")], ignore_index=True)
    out["ds"] = pd.to_datetime(out["ds"])
    return out.sort_values(["unique_id", "ds"], ignore_index=True)


def hire_credit(hiring_summary: pd.DataFrame, baseline_by_region: pd.Series) -> pd.DataFrame:
    """Return, by region, the new-hire capacity that adds to the baseline forecast.

    The forecast follows the company's past growth, and that growth came with past hiring:
    where the baseline is above what today's team can sell, part of the planned hires only
    delivers what the baseline already expects. Only the rest is credited, so the bridge does
    not count the same sales twice:
    credited = max(0, capacity_without_hires + capacity_added - max(baseline, capacity_without_hires)).

    Parameters
    ----------
    hiring_summary : DataFrame
        region, capacity_without_hires, capacity_added (``HiringPlanResult.summary``; a "Total" row is ignored).
    baseline_by_region : Series
        The plan-year baseline forecast by region.

    Returns
    -------
    DataFrame
        region, baseline, capacity_without_hires, capacity_added, in_baseline (hire capacity the baseline
        already expects), credited (capacity_added - in_baseline), and a last row "Total" (sums).

    Raises
    ------
    DataError
        If a region of the hiring plan has no baseline.
    """
    rows = hiring_summary[hiring_summary["region"] != "Total"]
    missing = sorted(set(rows["region"]) - set(baseline_by_region.index))
    if missing:
        raise DataError(f"no baseline forecast for region(s) {missing} of the hiring plan")
    base = baseline_by_region.reindex(rows["region"]).to_numpy(float)
    today = rows["capacity_without_hires"].to_numpy(float)
    added = rows["capacity_added"].to_numpy(float)
    credited = np.maximum(0.0, today + added - np.maximum(base, today))
    out = pd.DataFrame({"region": rows["region"].to_numpy(), "baseline": base, "capacity_without_hires": today,
                        "capacity_added": added, "in_baseline": added - credited, "credited": credited})
    total = out.drop(columns="region").sum().to_dict()
    return pd.concat([out, pd.DataFrame([{"region": "Total", **total}])], ignore_index=True)


@dataclass(frozen=True)
class Bridge:
    """The bridge from the baseline forecast to the annual target.

    Attributes
    ----------
    steps : DataFrame
        step, kind ("baseline", "initiative", "hires", "capacity", "gap"), strategy (initiatives only), amount
        (whole currency units), running_total. The amounts add up to the target exactly.
    target : int
        The annual target.
    baseline, initiatives, new_hires, uncovered : int
        The parts (``uncovered`` < 0: the plan covers more than the target).
    beyond_capacity : int
        What the baseline, initiatives and hires add up to above the capacity of the team with its hires
        (<= 0; the "capacity" step): sales nobody is there to make are not counted.
    hires : DataFrame or None
        From :func:`hire_credit`: how the new-hire step was found (the stage sets it).
    """

    steps: pd.DataFrame
    target: int
    baseline: int
    initiatives: int
    new_hires: int
    uncovered: int
    hires: pd.DataFrame | None = None
    beyond_capacity: int = 0

    @property
    def covered_share(self) -> float:
        """Return the share of the target that the baseline, the initiatives and the hires cover."""
        return (self.target - self.uncovered) / self.target if self.target else float("nan")


def bridge(baseline: float, effects: pd.DataFrame, new_hire_capacity: float, annual_target: float, *,
           hires: pd.DataFrame | None = None, capacity: float | None = None) -> Bridge:
    """Return the bridge: baseline forecast, + each initiative, + new-hire capacity, - what is beyond the
    team's capacity, + the gap = the target.

    Every part is rounded to whole currency units and the gap is what is left, so the steps add
    up to the target to the last unit.

    Parameters
    ----------
    baseline : float
        The company's plan-year forecast (closed months as booked).
    effects : DataFrame
        initiative, strategy, plan_year_effect (from :func:`effect_summary`), in the order to show.
    new_hire_capacity : float
        What the planned hires add beyond the baseline in the plan year (see :func:`hire_credit`).
    annual_target : float
        The company's annual target (a whole number of currency units).
    hires : DataFrame, optional
        The table behind ``new_hire_capacity``, kept with the result.
    capacity : float, optional
        What the team and its planned hires can sell in the plan year. When the steps before add up to
        more, a step "Beyond what the team can sell" takes the excess off, so the bridge counts only
        what the capacity can deliver; none when they fit (or without ``capacity``).

    Returns
    -------
    Bridge

    Raises
    ------
    DataError
        If the target is not a whole number of currency units.
    """
    target = float(annual_target)
    if not target.is_integer():
        raise DataError(f"the annual target {target!r} is not a whole number of currency units; "
                        "round it before bridging to it")
    base, added = int(_whole(baseline)), int(_whole(new_hire_capacity))
    moves = _whole(effects["plan_year_effect"]) if len(effects) else np.zeros(0, dtype=np.int64)
    counted = base + int(moves.sum()) + added
    beyond = min(int(_whole(capacity)) - counted, 0) if capacity is not None else 0
    uncovered = int(target) - counted - beyond
    capped = [CAPACITY_STEP] if beyond else []
    steps = pd.DataFrame({
        "step": [BASELINE_STEP, *effects["initiative"].astype(str), HIRES_STEP, *capped,
                 GAP_STEP if uncovered >= 0 else BEYOND_STEP],
        "kind": ["baseline", *["initiative"] * len(effects), "hires", *["capacity"] * len(capped), "gap"],
        "strategy": [None, *effects["strategy"], None, *[None] * len(capped), None],
        "amount": np.array([base, *moves, added, *[beyond] * len(capped), uncovered], dtype=np.int64),
    })
    steps["running_total"] = steps["amount"].cumsum()
    return Bridge(steps, int(target), base, int(moves.sum()), added, uncovered, hires, beyond)


# --------------------------------------------------------------------------- stage
@stage("bridge", needs=("initiatives", "annual_target", "hiring_plan"), config=())
def _bridge_stage(plan) -> Bridge:
    initiatives = plan["initiatives"]
    baseline = initiatives.baseline
    company = baseline.loc[baseline["unique_id"] == "company", "y"].sum()
    regions = baseline[baseline["unique_id"].str.startswith("region/")]
    by_region = regions.groupby(regions["unique_id"].str.removeprefix("region/"))["y"].sum()
    hires = hire_credit(plan["hiring_plan"].summary, by_region)
    credited = float(hires.loc[hires["region"] == "Total", "credited"].iloc[0])
    regions = plan["hiring_plan"].summary
    regions = regions[regions["region"] != "Total"]
    capacity = float((regions["capacity_without_hires"] + regions["capacity_added"]).sum())
    return bridge(float(company), initiatives.summary, credited, plan["annual_target"].target, hires=hires,
                  capacity=capacity)
