"""The figures every page of a plan states the same way: the chance of reaching the target and "last year".

Pages, widgets and the index read them here and nowhere else, so that re-pointing one reading (a new
P(attainment) model) changes every page at once.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from planlib.risk.montecarlo import simulated_risks

__all__ = ["LastYear", "chance_of_target", "chance_source", "cover_and_chance", "goal_cards", "hires_in_words",
           "hiring_delay_in_words", "last_year", "odds_basis", "plan_on_a_page", "verdict"]


def chance_of_target(plan) -> float:
    """Return P(attainment): the chance that the plan year's revenue reaches the annual target.

    The one figure every page and widget states: today the share of the Monte Carlo's simulated plan years
    (forecast spread, the team's capacity and the risk register) that reach the target.
    """
    return float(plan["monte_carlo"].summary["p_target"])


def chance_source(plan) -> str:
    """Return, in words, where :func:`chance_of_target` comes from (for a caption or a footnote)."""
    risks = simulated_risks(plan["risk_register"].register)
    held = ("forecast, the team's capacity and the risk register" if len(risks)
            else "forecast and the team's capacity; the plan has no risk register")
    return f"the share of {plan.config.risk.n_sims:,} simulated plan years ({held}) that reach the target"


def _count(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _listing(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def hires_in_words(plan, unit: float = 1.0, unit_label: str = "") -> str:
    """Say what the hiring plan does about the capacity gap: which regions fall short and what closes it.

    One clause (no capital, no full stop) that reads right for any number of hires: a plan with no
    shortfall says no hire is needed, one whose shortfall no hire closes says why; a company whose team covers
    the target overall while one region falls short says which. Money in the display unit. For example
    "no hire is needed: the team on the roster covers the target in every region", or
    "Nord falls 128,683 EUR short of its target, and 1 hire closes that gap".
    """
    from planlib.core.text import money

    summary = plan["hiring_plan"].summary
    regions = summary[summary["region"] != "Total"]
    short = regions[regions["gap"] > 0.5]
    if short.empty:
        return "no hire is needed: the team on the roster covers the target in every region"
    amounts = [money(g, unit, unit_label) for g in short["gap"]]
    falls = (f"{short['region'].iloc[0]} falls {amounts[0]} short of its target" if len(short) == 1 else
             f"{_listing(list(short['region']))} fall {_listing(amounts)} short of their targets")
    hires = int(regions["hires"].sum())
    uncovered = float(regions["uncovered"].sum())
    if hires == 0:
        limit = plan.config.capacity.hiring.max_per_region
        why = ("the config allows no hire (capacity.hiring.max_per_region is 0)" if limit == 0 else
               "no hire starting in the plan year would add enough in time")
        return f"{falls}, and no hire is planned: {why}"
    hiring = regions[regions["hires"] > 0]
    where = (f" ({', '.join(f'{r} {int(n)}' for r, n in zip(hiring['region'], hiring['hires']))})"
             if len(hiring) > 1 else f" in {hiring['region'].iloc[0]}" if len(short) > 1 else "")
    closes = f"{_count(hires, 'hire', 'hires')}{where} {'closes' if hires == 1 else 'close'}"
    if uncovered > 0.5:
        return f"{falls}; {closes} part of it, and {money(uncovered, unit, unit_label)} stays uncovered"
    return f"{falls}, and {closes} {'that gap' if len(short) == 1 else 'those gaps'}"


def hiring_delay_in_words(plan, months: int = 3, unit: float = 1.0, unit_label: str = "") -> str:
    """Say what happens when hiring starts ``months`` later than planned (a full sentence, or "" without hires)."""
    from planlib.core.text import money

    hiring = plan["hiring_plan"]
    late = hiring.delay_by(months)
    planned = int(late["hires_planned"].sum())
    if planned == 0:
        return ""
    start = late["earliest_start"].iloc[0].strftime("%Y-%m")
    uncovered = float(late["uncovered"].sum())
    same = _count(planned, "hire", "hires")
    if uncovered <= 0.5:
        closes = "closes" if planned == 1 else "close"
        return f"If hiring cannot start before {start}, the same {same} still {closes} the gap."
    extra = int(late["hires_to_close"].fillna(0).sum())
    cannot = list(late.loc[late["hires_to_close"].isna(), "region"])
    return (f"If hiring cannot start before {start}, the same {same} {'leaves' if planned == 1 else 'leave'} "
            f"{money(uncovered, unit, unit_label)} of target uncovered; closing it from then would take "
            f"{_count(extra, 'hire', 'hires')}"
            + (f" in the regions where recruiting can still close it ({', '.join(cannot)} cannot)." if cannot else "."))


@dataclass(frozen=True)
class LastYear:
    """The plan's one "last year": the fiscal year before the plan year, actual to date plus outlook.

    Attributes
    ----------
    fiscal_year : str ("FY2026")
    amount : float, actual plus the forecast of its open months (NaN if the history does not cover it)
    actual : float, the months already closed
    last_closed : Timestamp, the last closed month
    open_months : int, the months of that year still forecast
    """

    fiscal_year: str
    amount: float
    actual: float
    last_closed: pd.Timestamp
    open_months: int

    @property
    def label(self) -> str:
        """A short label for a headline or a column: "FY2026 (actual + outlook)" or "FY2026 (actual)"."""
        return f"{self.fiscal_year} ({'actual + outlook' if self.open_months else 'actual'})"

    def describe(self) -> str:
        """Say in words what the figure is, e.g. "FY2026: actual to 2026-09 plus the forecast of its 3 open months"."""
        if not self.open_months:
            return f"{self.fiscal_year}: the actual of the whole year"
        months = "its open month" if self.open_months == 1 else f"its {self.open_months} open months"
        return f"{self.fiscal_year}: actual to {self.last_closed:%Y-%m} plus the forecast of {months}"


def odds_basis(plan, unit: float = 1.0, unit_label: str = "") -> str:
    """Return, in words computed from the plan, what every rep's, team's and region's chance is based on.

    The rule of :mod:`planlib.planning.odds`: the same simulated years as the company's P(attainment), a
    rep's sales their share of the region's capacity-capped forecast with their own spread. The sentence
    names the number of years, the reps and planned hires simulated, how many reps' run rates come from
    their team peers, the risks drawn, the company's chance and the reps' likely outcomes added up.
    """
    from planlib.core.text import money

    mc, fair = plan["monte_carlo"], plan["fairness"]
    reps = fair.reps
    hires = set(plan["planned_hires"].by_month["rep_id"]) & set(reps["rep_id"])
    peers = int((reps["basis"] == "team peers").sum())
    n_risks = len(mc.risk_ids)
    return (f"Each chance is the share of the same {len(mc.company_total):,} simulated plan years as the company's "
            f"P(attainment) ({mc.p_target:.0%}) in which the figure is reached. In each year every region sells its "
            f"forecast, at most what its {_count(len(reps) - len(hires), 'rep', 'reps')}"
            + (f" and {_count(len(hires), 'planned hire', 'planned hires')}" if hires else "")
            + " can sell, split by each one's share of that capacity (their run rate"
            + (f", or their team peers' for {_count(peers, 'rep', 'reps')} with little history" if peers else "")
            + ", ramp and months in the year); each rep moves with their own spread, each region with its swings"
            + (f", and the risk register's {n_risks} risks are drawn on top" if n_risks else "")
            + ". A team is the sum of its reps in the same year, so the likely outcomes of the reps, teams and "
            f"regions add up to the company's, {money(float(reps['potential'].sum()), unit, unit_label)}.")


def last_year(plan) -> LastYear:
    """Return the plan's "last year": the figure growth to the plan year is measured on.

    It is the annual target's growth base (``planlib.planning.target.last_year_figures``): the fiscal year
    before the plan year, its closed months as booked and its open months as forecast. The summary, the
    goal-setting page, the index and the SMART baseline of a revenue goal all state this figure.
    """
    cfg = plan.config
    target = plan["annual_target"]
    last_closed = pd.Timestamp(cfg.last_closed_month)
    start = cfg.fiscal.start_month
    # the fiscal year before the plan year ends the month before the plan year starts
    plan_first = pd.Timestamp(year=cfg.fiscal.year - (1 if start > 1 else 0), month=start, day=1)
    last_end = plan_first - pd.DateOffset(months=1)
    open_months = max(0, (last_end.year - last_closed.year) * 12 + last_end.month - last_closed.month)
    amount = float(target.last_year_outlook)
    return LastYear(fiscal_year=f"FY{cfg.fiscal.year - 1}", amount=amount if math.isfinite(amount) else math.nan,
                    actual=float(target.last_year_actual), last_closed=last_closed, open_months=min(open_months, 12))


def verdict(plan) -> str:
    """Return the target's verdict (stretch, balanced, sandbagged) judged on :func:`chance_of_target`."""
    from planlib.planning import verdict_of

    bands = plan.config.goals.verdict
    return verdict_of(chance_of_target(plan), bands.stretch_below, bands.sandbagged_above)


def plan_on_a_page(plan) -> pd.DataFrame:
    """Return the plan's headline figures for the executive summary, each formatted in the display unit.

    One chance of reaching the target (:func:`chance_of_target`) and one last year (:func:`last_year`); the
    forecast-only odds appear once, labelled as such.

    Returns
    -------
    DataFrame
        figure, value (formatted text), basis (where the number comes from, in a reader's words).
    """
    from planlib.core.text import money

    cfg = plan.config
    unit, label = cfg.company.display_unit, cfg.company.display_unit_label or cfg.company.currency
    shown = lambda amount: money(amount, unit, label)  # noqa: E731
    target, bridge = plan["annual_target"], plan["bridge"]
    last = last_year(plan)
    hires = plan["hiring_plan"].summary.set_index("region").loc["Total"]
    cost = plan["budget"].cost_of_sales.set_index("region").loc["Total"]
    payout = plan["incentive_cost"].summary
    register = plan["risk_register"].register
    live = simulated_risks(register)
    n_init = len(plan["initiatives"].summary)
    growth = (f"{target.target / last.amount - 1:+.1%} on last year, {last.label} {shown(last.amount)}"
              if math.isfinite(last.amount) and last.amount > 0 else "no full last year in the history")
    rows = [
        (f"{target.fiscal_year} target", shown(target.target), growth),
        ("Chance of reaching it", f"{chance_of_target(plan):.0%}",
         f"a {verdict(plan)} target; {chance_source(plan)}"),
        ("Chance, forecast alone", f"{target.probability:.0%}",
         "the forecast's own spread, before capacity and risks"),
        ("Baseline forecast", shown(bridge.baseline), "closed months as booked, the rest forecast"),
        ("Initiatives", shown(bridge.initiatives),
         f"{_count(n_init, 'initiative', 'initiatives')} in the plan year" if n_init else
         "none: the config lists no initiative"),
        ("New hires", f"{int(hires['hires'])}",
         f"{shown(hires['capacity_added'])} of capacity, {shown(bridge.new_hires)} of it beyond the baseline"),
        ("Gap to target", shown(max(bridge.uncovered, 0.0)),
         "still uncovered after baseline, initiatives and hires" if bridge.uncovered > 0 else
         f"none: baseline, initiatives and hires exceed the target by {shown(-bridge.uncovered)}"),
        ("Sales cost budget", shown(cost["total_cost"]), f"{cost['pct_of_target']:.1%} of target"),
        ("Incentive payout, expected", shown(payout["expected_payout"]),
         f"one year in ten below {shown(payout['payout_p10'])}, one in ten above {shown(payout['payout_p90'])}"),
        ("Expected loss from risks", shown(float(live["expected_loss"].sum())),
         f"{_count(len(live), 'risk', 'risks')} of the register" if len(live) else
         "none priced: the plan has no risk register"),
    ]
    return pd.DataFrame(rows, columns=["figure", "value", "basis"])


def goal_cards(plan) -> pd.DataFrame:
    """Return the plan's SMART goal cards with the annual revenue target judged on :func:`chance_of_target`.

    ``planning.smart`` judges a revenue goal on the forecast alone; the goal that is the annual target itself
    (metric revenue, scope company, target the annual target) is the one number every page gives one chance
    of reaching, so its probability, "achievable" and "SMART" marks and its problems are restated on that
    chance against ``goals.min_probability``.

    Returns
    -------
    DataFrame
        As ``plan["goal_cards"]`` (``planlib.planning.smart.goal_cards``).
    """
    cards = plan["goal_cards"].copy()
    if cards.empty:
        return cards
    threshold = plan.config.goals.min_probability
    chance = chance_of_target(plan)
    is_target = ((cards["metric"] == "revenue") & (cards["scope"] == "company")
                 & (pd.to_numeric(cards["target"], errors="coerce") == plan["annual_target"].target))
    for i in cards.index[is_target]:
        kept = [p for p in str(cards.at[i, "problems"]).split("; ") if p and not p.startswith("achievability ")]
        achievable = chance >= threshold
        if not achievable:
            kept.insert(0, f"achievability {chance:.0%} is below the {threshold:.0%} threshold")
        cards.at[i, "probability"] = chance
        cards.at[i, "achievable"] = achievable
        cards.at[i, "smart"] = not kept
        cards.at[i, "problems"] = "; ".join(kept)
    return cards


def cover_and_chance(plan) -> str:
    """Return, in words, how the bridge's cover and the chance of reaching the target fit together.

    The bridge adds expected effects (baseline, initiatives, hires) and knows nothing of the risks or of a
    year's spread; :func:`chance_of_target` holds both. A target covered "with X to spare" can still be
    unlikely, and the summary must say why in the same breath. Markdown, money in the display unit.
    """
    from planlib.core.text import money

    cfg = plan.config
    unit, label = cfg.company.display_unit, cfg.company.display_unit_label or cfg.company.currency
    bridge, chance = plan["bridge"], chance_of_target(plan)
    n = len(plan["initiatives"].summary)
    initiatives = _count(n, "initiative", "initiatives")
    sources = (f"the baseline forecast, {initiatives} and the planned hires" if n else
               "the baseline forecast and the planned hires")
    if bridge.uncovered > 0:
        said = (f"The baseline forecast, the {initiatives} and the planned hires bring in " if n else
                "The baseline forecast and the planned hires bring in ")
        said += (f"{bridge.covered_share:.0%} of the target; **{money(bridge.uncovered, unit, label)}** is still "
                 "uncovered and needs more action")
        summary = plan["hiring_plan"].summary
        capacity = float(summary.loc[summary["region"] == "Total", "capacity_with_hires"].sum())
        target = float(summary.loc[summary["region"] == "Total", "target"].sum())
        if target > 0 and capacity >= target:  # the team could sell it: what is missing is demand, not people
            said += (f": the team can sell {capacity / target:.0%} of the target, so what is missing is demand the "
                     "forecast does not see (initiatives, new customers or products), not hires")
        return said + "."
    cushion = -bridge.uncovered
    register = plan["risk_register"].register
    live = simulated_risks(register)
    loss = float(live["expected_loss"].sum())
    text = (f"On their expected effects, {sources} cover the target with **{money(cushion, unit, label)}** to "
            "spare. ")
    mc = plan["monte_carlo"]
    mean_year = float(mc.summary["mean_revenue"])
    if mean_year < mc.annual_target:
        # The bridge counts a hire's capacity as sales; the simulation sells no more than the forecast's demand
        # in each region. Said plainly, so a cushion beside a low chance is not left to the reader to reconcile.
        risks = f", less the risks' expected loss of {money(loss, unit, label)}," if len(live) else ""
        left_out = " and holds no initiative" if n else ""
        text += ("The simulation counts sales only up to the forecast's demand in each region (capacity beyond it "
                 f"sells nothing){left_out}{risks} so its average year is {money(mean_year, unit, label)}, below the "
                 f"target, and the plan reaches the target in only {chance:.0%} of simulated years.")
    elif len(live) and loss > cushion:
        text += (f"That cushion is smaller than the risks' expected loss of {money(loss, unit, label)}, and a year's "
                 f"sales spread around the forecast, so the plan reaches the target in only {chance:.0%} of "
                 "simulated years.")
    elif len(live):
        text += (f"That cushion is larger than the risks' expected loss of {money(loss, unit, label)}; with the spread "
                 f"of a year's sales the plan reaches the target in {chance:.0%} of simulated years.")
    else:
        text += f"With the spread of a year's sales the plan reaches the target in {chance:.0%} of simulated years."
    return text
