"""Scenarios and sensitivity: downside/base/upside, the tornado of assumptions and the what-if.

Scenarios take forecast quantiles less the register's losses; the tornado moves one
assumption at a time on common random numbers from :mod:`planlib.simulate`.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd

from planlib.core.errors import ConfigError
from planlib.risk.montecarlo import _event_arrays, simulated_risks
from planlib.core.graph import stage
from planlib.risk.plan_year import RiskModel
from planlib.risk.simulate import draw_risk_events, simulate_rep_outcomes

__all__ = ["ASSUMPTION_NAMES", "assumption_moves", "scenarios", "sensitivity", "what_if", "what_if_figures",
           "what_if_for"]


# The assumptions of the sensitivity as a reader names them (their keys under risk.sensitivity are code).
ASSUMPTION_NAMES = {"growth": "growth", "price": "price", "attrition": "attrition", "ramp_months": "ramp time",
                    "pipeline_conversion": "pipeline conversion"}


# --------------------------------------------------------------------------- scenarios
def scenarios(quantified: pd.DataFrame, forecast_total, *, annual_target: float,
              settings: Mapping[str, tuple[float, str]], likely_threshold: float = 0.3,
              expected: pd.DataFrame | None = None,
              payout: Callable[[np.ndarray], float] | None = None) -> pd.DataFrame:
    """Return downside, base and upside: a forecast quantile less the register's losses under a rule.

    Parameters
    ----------
    quantified : DataFrame
        From :func:`quantify_register` (only ``simulated`` risks count).
    forecast_total : scipy frozen distribution
        Of the plan-year company total (``ForecastResult.total_distribution``), with ``ppf``.
    annual_target : float
    settings : mapping
        Scenario name -> (forecast quantile, risk rule): "none" (no risk hits), "expected"
        (every risk at likelihood x impact) or "likely" (risks at or above
        ``likely_threshold`` hit in full, the others at expected).
    likely_threshold : float, default 0.3
    expected : DataFrame, optional
        Rep x month expected sales: scaled to each scenario's revenue for ``payout``.
    payout : callable, optional
        ``payout(sales)`` with sales of shape (1, reps, months) -> the total incentive
        payout (:mod:`planlib.incentives`). Without it payout and cost_of_sales are NaN.

    Returns
    -------
    DataFrame
        scenario, forecast_quantile, risk_rule, forecast_revenue, risk_loss, revenue,
        attainment, payout, cost_of_sales (payout / revenue).
    """
    live = simulated_risks(quantified)
    rows = []
    for name, (quantile, rule) in settings.items():
        if rule == "none":
            loss = 0.0
        elif rule == "expected":
            loss = float(live["expected_loss"].sum())
        elif rule == "likely":
            sure = live["likelihood"] >= likely_threshold
            loss = float(live.loc[sure, "impact_amount"].sum() + live.loc[~sure, "expected_loss"].sum())
        else:
            raise ConfigError([(f"risk.scenarios.{name}.risks", f"found {rule!r}, expected none, expected or likely")])
        fc = float(forecast_total.ppf(quantile))
        revenue = max(fc - loss, 0.0)
        paid = np.nan
        if payout is not None and expected is not None and expected.to_numpy().sum() > 0:
            scaled = expected.to_numpy(dtype=float) * (revenue / expected.to_numpy().sum())
            paid = float(payout(scaled[None, :, :]))
        rows.append({"scenario": name, "forecast_quantile": quantile, "risk_rule": rule, "forecast_revenue": fc,
                     "risk_loss": loss, "revenue": revenue, "attainment": revenue / annual_target,
                     "payout": paid, "cost_of_sales": paid / revenue if revenue > 0 else np.nan})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- sensitivity
def assumption_moves(expected: pd.DataFrame, steps: Mapping[str, float], *, growth_base: float,
                     hire_date: pd.Series | None = None, ramp_months: float = 6.0,
                     pipeline_weighted: pd.DataFrame | None = None,
                     ) -> dict[str, tuple[str, pd.DataFrame, pd.DataFrame]]:
    """Return the expected rep x month sales with each assumption moved down and up by its step.

    * growth: plan-year growth over the trailing year ``growth_base`` moved by the step
      (points): sales x (1 + g ± step) / (1 + g).
    * price: sales x (1 ± step), volume held.
    * attrition: a further ``step`` of the reps leave, spread evenly over the year, and are
      not replaced in it: month m (0-based) keeps 1 - step x (m + 0.5) / 12 (up is worse).
    * ramp_months: reps still ramping (hired less than ``ramp_months`` before a plan month)
      reach full productivity ``step`` months sooner or later (linear ramp, up is worse).
    * pipeline_conversion: the probability-weighted pipeline closing in each month converts
      ``step`` (relative) worse or better.

    Returns
    -------
    dict
        Assumption -> (step text, expected when moved the unfavourable way, expected when moved
        the favourable way).
    """
    months = pd.DatetimeIndex(expected.columns)
    out = {}
    for name, step in steps.items():
        if name == "growth":
            low = expected * (1 + growth_base - step) / (1 + growth_base)
            high = expected * (1 + growth_base + step) / (1 + growth_base)
            text = f"±{step * 100:.1f} pts of growth (base {growth_base:+.1%})"
        elif name == "price":
            low, high = expected * (1 - step), expected * (1 + step)
            text = f"±{step:.1%} price"
        elif name == "attrition":
            lost = step * (np.arange(len(months)) + 0.5) / len(months)
            low = expected * (1 - lost)[None, :]
            high = expected * (1 + lost)[None, :]
            text = f"±{step:.0%} of reps leaving"
        elif name == "ramp_months":
            low, high = expected.copy(), expected.copy()
            if hire_date is not None:
                from planlib.planning.productivity import ramp_curve

                hired = pd.to_datetime(hire_date.reindex(expected.index))
                tenure = ((months.year.to_numpy()[None, :] - hired.dt.year.to_numpy()[:, None]) * 12
                          + months.month.to_numpy()[None, :] - hired.dt.month.to_numpy()[:, None] + 1)
                tenure = np.where(np.isnan(tenure), 10_000, tenure)
                base = ramp_curve(tenure, ramp_months)
                slow = ramp_curve(tenure, ramp_months + step)
                fast = ramp_curve(tenure, max(ramp_months - step, 0))
                ramping = base > 0  # months before the start stay at what was expected
                ratio_slow = np.where(ramping, slow / np.where(ramping, base, 1.0), 1.0)
                ratio_fast = np.where(ramping, fast / np.where(ramping, base, 1.0), 1.0)
                low, high = expected * ratio_slow, expected * ratio_fast
            text = f"±{step:g} months of ramp (base {ramp_months:g})"
        elif name == "pipeline_conversion":
            pipe = (pipeline_weighted.reindex(index=expected.index, columns=months).fillna(0.0)
                    if pipeline_weighted is not None else expected * 0.0)
            low, high = expected - step * pipe, expected + step * pipe
            low = low.clip(lower=0)
            text = (f"±{step:.0%} pipeline conversion" if bool((pipe.to_numpy() != 0).any()) else
                    f"±{step:.0%} pipeline conversion; no open pipeline, so no effect")
        else:
            raise ConfigError([(f"risk.sensitivity.{name}", "unknown assumption; known: growth, attrition, "
                                "ramp_months, pipeline_conversion, price")])
        out[name] = (text, low, high)
    return out


def sensitivity(factors: np.ndarray, hits: np.ndarray, *, expected: pd.DataFrame, moves: Mapping,
                exposure: np.ndarray, share: np.ndarray, amount: np.ndarray, annual_target: float) -> pd.DataFrame:
    """Return the tornado: P(attainment) and mean revenue with each assumption moved down and up.

    Every variant reuses the same simulated shocks and risk draws (common random
    numbers), so a difference between variants is the assumption, not noise. Sales are
    ``factors * expected`` (the simulation is linear in expected sales), less the risks.

    Parameters
    ----------
    factors : ndarray (n_sims, reps, months)
        Simulated outcomes for expected sales of 1 (``simulate_rep_outcomes`` of ones).
    hits : ndarray of bool (n_sims, risks)
    expected : DataFrame
        The base expected sales (rep x month).
    moves : mapping
        From :func:`assumption_moves`.
    exposure, share, amount : ndarray
        As :func:`planlib.simulate.apply_risk_events`.
    annual_target : float

    Returns
    -------
    DataFrame
        assumption (in words: ``ASSUMPTION_NAMES``), step, revenue_low, revenue_base, revenue_high, p_target_low,
        p_target_base, p_target_high, swing (p_target_high - p_target_low); sorted by swing, largest first.
        "low" is the unfavourable move.
    """
    hits_f = hits.astype(float)
    keep = 1.0 - np.clip(hits_f @ (share[:, None] * exposure), 0.0, 1.0)  # (sims, reps)
    fixed_loss = hits_f @ amount  # (sims,)

    def totals(exp: pd.DataFrame) -> np.ndarray:
        rep_annual = np.einsum("nrm,rm->nr", factors, exp.to_numpy(dtype=float))
        return (keep * rep_annual).sum(axis=1) - fixed_loss

    base = totals(expected)
    rows = []
    for name, (step, low, high) in moves.items():
        t_low, t_high = totals(low), totals(high)
        rows.append({"assumption": ASSUMPTION_NAMES.get(name, name), "step": step, "revenue_low": t_low.mean(),
                     "revenue_base": base.mean(),
                     "revenue_high": t_high.mean(), "p_target_low": (t_low >= annual_target).mean(),
                     "p_target_base": (base >= annual_target).mean(),
                     "p_target_high": (t_high >= annual_target).mean()})
    out = pd.DataFrame(rows)
    out["swing"] = out["p_target_high"] - out["p_target_low"]
    out["revenue_swing"] = out["revenue_high"] - out["revenue_low"]
    return out.sort_values(["revenue_swing", "assumption"], ascending=[False, True], ignore_index=True)


def _payout_function(plan, model: RiskModel):
    """Total incentive payout of one rep x month sales array, by planlib.incentives' own cost model."""
    from planlib.resources.capacity import rep_target_array
    from planlib.resources.outcomes import incentive_cost

    from planlib.resources.hiring import roster_with_hires

    roster = roster_with_hires(plan["inputs"].tables["reps"], plan["planned_hires"])
    reps = roster.set_index("rep_id").reindex(model.plan_year.expected.index).reset_index()
    rep_targets = rep_target_array(plan["targets"], model.plan_year.expected.index, model.plan_year.months)
    if not rep_targets.sum() > 0:
        return None
    return lambda sales: incentive_cost(sales, rep_targets, reps, plan.config.incentives).summary[
        "expected_payout"]


@stage("scenarios", needs=("inputs", "risk_model", "risk_register", "planned_hires", "targets"),
       config=("risk", "incentives"))
def _scenarios_stage(plan) -> pd.DataFrame:
    settings, model = plan.config.risk, plan["risk_model"]
    chosen = {name: (s.quantile, s.risks) for name, s in settings.scenarios.items()}
    return scenarios(plan["risk_register"].register, model.forecast_total, annual_target=model.annual_target,
                     settings=chosen, likely_threshold=settings.likely_threshold,
                     expected=model.plan_year.expected, payout=_payout_function(plan, model))


def _ramp_months(plan) -> float:
    """The ramp the tornado moves: the config's, else the one the capacity stage used (estimated or configured)."""
    if plan.config.risk.ramp_months is not None:
        return float(plan.config.risk.ramp_months)
    return float(plan["capacity"].ramp.ramp_months)


def _draws(plan, n_sims: int | None = None):
    """Outcomes for expected sales of one and risk draws, shared by the tornado and the what-if.

    With ``n_sims`` None: the Monte Carlo's own count (``risk.n_sims``), so the draws are its draws.
    """
    model, reg = plan["risk_model"], plan["risk_register"]
    settings = plan.config.risk
    n_sims = settings.n_sims if n_sims is None else n_sims
    year = model.plan_year
    ones = pd.DataFrame(1.0, index=year.expected.index, columns=year.expected.columns)
    mix = year.product_mix if settings.shock_level == "region_product" else None
    rng = np.random.default_rng(plan.config.seed)
    factors = simulate_rep_outcomes(ones, region_of=year.reps["region"], shocks=model.shocks.scaled(model.shock_scale),
                                    rep_sd=model.rep_sd, n_sims=n_sims, seed=rng, product_mix=mix)
    _, likelihood, expo, share, amount = _event_arrays(reg.register, reg.exposure, year.expected.index)
    hits = draw_risk_events(n_sims, likelihood, rng)
    return factors, hits, dict(exposure=expo, share=share, amount=amount)


@stage("sensitivity", needs=("risk_model", "risk_register", "capacity"), config=("risk", "seed", "capacity"))
def _sensitivity_stage(plan) -> pd.DataFrame:
    settings, model = plan.config.risk, plan["risk_model"]
    year = model.plan_year
    factors, hits, events = _draws(plan, settings.sensitivity_sims)
    moves = assumption_moves(year.expected, settings.sensitivity, growth_base=model.growth_base,
                             hire_date=year.reps.get("hire_date"), ramp_months=_ramp_months(plan),
                             pipeline_weighted=model.pipeline_weighted)
    return sensitivity(factors, hits, expected=year.expected, moves=moves, annual_target=model.annual_target,
                       **events)


def what_if_figures(plan, growth: float = 0.0, price: float = 0.0, attrition: float = 0.0, *,
                    draws=None) -> pd.Series:
    """Return revenue and P(attainment) with growth, price and attrition moved, on the Monte Carlo's own draws.

    The draws are those of the ``monte_carlo`` stage (its seed, ``risk.n_sims`` years, the same order), so with
    nothing moved ``p_target`` is ``plan["monte_carlo"].p_target`` exactly and ``revenue`` its mean revenue.

    Parameters
    ----------
    plan : planlib.Plan
    growth, price, attrition : float
        Points of growth added, price change, and further share of reps leaving (0.02 = 2%).
    draws : tuple, optional
        The draws of an earlier call (``_draws(plan)``), so that a widget draws once, not at every move.

    Returns
    -------
    Series
        revenue, revenue_base (nothing moved), p_target, p_target_base.
    """
    model = plan["risk_model"]
    factors, hits, events = _draws(plan) if draws is None else draws
    expected = model.plan_year.expected * (1 + model.growth_base + growth) / (1 + model.growth_base) * (1 + price)
    if attrition:
        expected = assumption_moves(expected, {"attrition": attrition}, growth_base=0.0)["attrition"][1]
    row = sensitivity(factors, hits, expected=model.plan_year.expected, moves={"what-if": ("", expected, expected)},
                      annual_target=model.annual_target, **events).iloc[0]
    return pd.Series({"revenue": row["revenue_low"], "revenue_base": row["revenue_base"],
                      "p_target": row["p_target_low"], "p_target_base": row["p_target_base"]})


def what_if(plan, growth: float = 0.0, price: float = 0.0, attrition: float = 0.0, *, draws=None):
    """Return, as Markdown, P(attainment) and revenue with growth, price and attrition moved (what-if widgets).

    The figures are :func:`what_if_figures`: with nothing moved, the plan's own P(attainment).

    Parameters
    ----------
    plan : planlib.Plan
    growth, price, attrition : float
        Points of growth added, price change, and further share of reps leaving (0.02 = 2%).
        Money is shown in the config's display unit.

    Returns
    -------
    IPython Markdown
        One sentence with the numbers, escaped.
    """
    from planlib.core.text import md, money

    row = what_if_figures(plan, growth=growth, price=price, attrition=attrition, draws=draws)
    company = plan.config.company
    change = row["revenue"] - row["revenue_base"]
    return md("With growth {g:+.1f} points, price {p:+.1%} and {a:.0%} more reps leaving: expected revenue "
              "**{rev}** ({sign}{d} against the plan's assumptions), P(reaching the annual target) **{pt:.0%}** "
              "(was {pb:.0%}).", g=100 * growth, p=price, a=attrition,
              rev=money(row["revenue"], company.display_unit, company.display_unit_label),
              sign="+" if change >= 0 else "-", d=money(abs(change), company.display_unit, company.display_unit_label),
              pt=row["p_target"], pb=row["p_target_base"])


def what_if_for(plan) -> Callable[..., object]:
    """Return :func:`what_if` bound to ``plan``: a function of growth, price and attrition for ``ipywidgets.interact``.

    ``interact`` reads the function's name and signature, which a ``functools.partial`` lacks. The Monte
    Carlo's draws are made on the first call and reused by every later one (a slider moves in a blink).
    """
    drawn: list = []

    def what_if_of_plan(growth: float = 0.0, price: float = 0.0, attrition: float = 0.0):
        if not drawn:
            drawn.append(_draws(plan))
        return what_if(plan, growth=growth, price=price, attrition=attrition, draws=drawn[0])

    what_if_of_plan.__doc__ = what_if.__doc__
    return what_if_of_plan
