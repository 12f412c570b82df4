"""The embedded sample company: a seeded simulation of a fictional B2B seller in China (CNY).

``generate`` returns every input table of the workbook, ``write_sample`` writes them as
byte-stable CSV, and ``generate_actuals`` continues the same simulation into FY2027.
The simulation behind the tables (customers, reps, demand, deals) is in ``planlib.data.sample_deals``.
"""
from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from planlib.core.errors import ConfigError
from planlib.data.sample_commits import sample_commits
from planlib.data.sample_deals import (AS_OF, DEFAULT_SEED, HISTORY_END, N_MONTHS, PRODUCTS, RAMP_MONTHS, REGIONS,
                                       SIM_END, START, _month_index, _simulate, expected_sales)

__all__ = ["COMPETITORS", "DEFAULT_SEED", "STAGES", "company_months", "generate", "generate_actuals", "main",
           "write_sample"]

STAGES = {"Qualify": 0.10, "Develop": 0.25, "Propose": 0.50, "Negotiate": 0.75}


# --------------------------------------------------------------------------- side tables
def _pipeline(rng: np.random.Generator, deals: pd.DataFrame, owner: np.ndarray, cust: pd.DataFrame,
              reps: pd.DataFrame) -> pd.DataFrame:
    """Return the open opportunities on 2026-11-26: most of the later big deals plus ones that will be lost."""
    horizon = pd.Timestamp("2027-09-30")
    future = deals[(deals.date > AS_OF) & (deals.date <= horizon) & (deals.amount >= 60_000)]
    days_out = (future.date - AS_OF).dt.days.to_numpy()
    # Near deals are mostly in the CRM already; far ones often not yet.
    seen = rng.random(len(future)) < np.interp(days_out, [0, 90, 300], [0.9, 0.7, 0.3])
    won = future[seen]
    close = won.date.to_numpy() + pd.to_timedelta(rng.integers(-10, 21, len(won)), unit="D").to_numpy()
    close = np.clip(close, (AS_OF + pd.Timedelta(days=1)).to_datetime64(), horizon.to_datetime64())
    real = pd.DataFrame({"rep_id": won.rep_id.to_numpy(), "customer_id": won.customer_id.to_numpy(),
                         "product": won["product"].to_numpy(),
                         "amount": np.round(won.amount.to_numpy() * rng.lognormal(0, 0.12, len(won)), -2),
                         "expected_close": pd.DatetimeIndex(close)})
    # Opportunities that will be lost or slip: same reps and products, other customers of the rep.
    n_lost = int(0.9 * len(real))
    template = real.iloc[rng.integers(0, len(real), n_lost)].reset_index(drop=True)
    m_now = _month_index(pd.DatetimeIndex([AS_OF]))[0]
    rep_index = {r: i for i, r in enumerate(reps.rep_id)}
    alive = (cust.acquired.to_numpy() <= m_now) & (cust.churn.to_numpy() > m_now)
    lost_customers = []
    for rep_id in template.rep_id:
        book = np.flatnonzero((owner[:, m_now] == rep_index[rep_id]) & alive)
        lost_customers.append(cust.customer_id.iloc[rng.choice(book)])
    lost = pd.DataFrame({"rep_id": template.rep_id, "customer_id": lost_customers, "product": template["product"],
                         "amount": np.round(template.amount.to_numpy() * rng.lognormal(0, 0.35, n_lost), -2),
                         "expected_close": AS_OF + pd.to_timedelta(rng.integers(4, 309, n_lost), unit="D")})
    opps = pd.concat([real.assign(lost=False), lost.assign(lost=True)], ignore_index=True)
    days_to_close = (opps.expected_close - AS_OF).dt.days.to_numpy()
    stage_p = np.where(days_to_close[:, None] < 45, [0.05, 0.15, 0.3, 0.5],
                       np.where(days_to_close[:, None] < 120, [0.15, 0.3, 0.35, 0.2], [0.45, 0.35, 0.15, 0.05]))
    stage = (rng.random(len(opps))[:, None] > np.cumsum(stage_p, axis=1)).sum(axis=1)
    stage = np.where(opps.lost & (rng.random(len(opps)) < 0.5), np.maximum(stage - 1, 0), stage)
    names = list(STAGES)
    opps["stage"] = np.array(names)[np.minimum(stage, 3)]
    opps["probability"] = opps.stage.map(STAGES).astype(float)
    opps = opps.sort_values(["expected_close", "rep_id", "customer_id", "amount"], kind="stable").reset_index(drop=True)
    opps.insert(0, "opportunity_id", [f"OP{i + 1:05d}" for i in range(len(opps))])
    return opps[["opportunity_id", "rep_id", "customer_id", "product", "stage", "amount", "expected_close",
                 "probability"]]


def _kpis(rng: np.random.Generator, reps: pd.DataFrame, skill: np.ndarray) -> pd.DataFrame:
    """Return quarterly scorecard inputs per rep (2022Q1 .. 2026Q3, quarters the rep worked in)."""
    n = len(reps)
    satisfaction = np.clip(3.9 + 1.2 * (skill - 1) + rng.normal(0, 0.2, n), 2.8, 4.8)
    calls = rng.uniform(170, 330, n) * (0.8 + 0.2 * skill)
    teamwork = rng.uniform(3.3, 4.7, n)
    rows = []
    for q in pd.period_range("2022Q1", "2026Q3", freq="Q"):
        q_start, q_end = q.start_time.normalize(), q.end_time.normalize()
        for i, rep in reps.iterrows():
            start = max(q_start, rep.hire_date)
            end = q_end if pd.isna(rep.exit_date) else min(q_end, rep.exit_date)
            if start > end:
                continue
            worked = ((end - start).days + 1) / ((q_end - q_start).days + 1)
            tenure = (q_end - rep.hire_date).days / 30.4
            ramping = tenure < RAMP_MONTHS + 3
            values = {
                "satisfaction": np.clip(satisfaction[i] + rng.normal(0, 0.15), 1, 5),
                "activity": np.round(calls[i] * worked * (0.7 if ramping else 1.0) * rng.lognormal(0, 0.1)),
                "teamwork": np.clip(teamwork[i] + rng.normal(0, 0.2), 1, 5),
                "learning": np.round((rng.uniform(28, 45) if ramping else rng.uniform(4, 16)) * worked, 1),
            }
            rows += [{"rep_id": rep.rep_id, "period": str(q), "metric": k, "value": round(float(v), 2)}
                     for k, v in values.items()]
    return pd.DataFrame(rows)


def _market(rng: np.random.Generator, targets: np.ndarray) -> pd.DataFrame:
    """Return the market size and growth per region, product and year (2022-2027), in CNY."""
    rows = []
    for g, region in enumerate(REGIONS):
        for p, product in enumerate(PRODUCTS):
            ours = targets[g, p, :N_MONTHS].reshape(6, 12).sum(axis=1)
            share = rng.uniform(0.06, 0.16)
            ours_growth = (ours[-1] / ours[1]) ** (1 / 4) - 1
            # The market moves with us but less: we gain share where we grow fast (West, Services).
            base_growth = 0.7 * ours_growth + 0.02 + rng.uniform(-0.01, 0.01)
            size = ours[0] / share / (1 + base_growth)
            for k, year in enumerate(range(2022, 2028)):
                growth = round(base_growth + rng.normal(0, 0.012), 2)
                size *= 1 + growth
                rows.append({"region": region, "product": product, "year": year,
                             "market_size": round(size, -3), "market_growth": growth})
    return pd.DataFrame(rows)


COMPETITORS = [
    ("Kronberg Analytik", 0.15, {"East": 1.3, "South": 1.1, "North": 0.9, "West": 0.6},
     "German premium instruments; strong with research labs and multinationals"),
    ("Meridian Life Sciences", 0.13, {"East": 1.1, "South": 1.2, "North": 1.0, "West": 0.7},
     "US broad-line supplier; bundles consumables with instruments"),
    ("华测精密 Huace Precision", 0.10, {"East": 0.8, "South": 0.8, "North": 1.6, "West": 1.0},
     "Domestic instruments maker; 15-25% below our list prices; strong in tenders"),
    ("蓝海仪器 Lanhai Instruments", 0.07, {"East": 0.6, "South": 0.8, "North": 0.9, "West": 1.9},
     "Fast-growing domestic challenger; new plant in Chengdu since 2024"),
    ("启明生物 Qiming Bio", 0.06, {"East": 1.1, "South": 1.2, "North": 0.9, "West": 0.8},
     "Consumables specialist; e-commerce channel and next-day delivery"),
    ("Sato Scientific", 0.05, {"East": 1.4, "South": 1.0, "North": 0.8, "West": 0.5},
     "Japanese instruments; service-heavy contracts with long warranties"),
    ("众联服务 Zhonglian Services", 0.04, {"East": 1.0, "South": 1.0, "North": 1.0, "West": 1.3},
     "Third-party maintenance; undercuts our service contracts on older instruments"),
]


def _competitors(rng: np.random.Generator) -> pd.DataFrame:
    """Return each competitor's share of each regional market (all products), with a note."""
    rows = [{"competitor": name, "region": region, "share": round(base * tilt[region] * rng.uniform(0.85, 1.15), 2),
             "notes": note} for name, base, tilt, note in COMPETITORS for region in REGIONS]
    return pd.DataFrame(rows)


def _risks(history: pd.DataFrame) -> pd.DataFrame:
    """Return the risk register of the FY2027 plan; customer risks name the two largest 2025 customers."""
    year = history[history.date.dt.year == 2025]
    by_customer = year.groupby("customer_id").amount.sum().sort_values(ascending=False, kind="stable")
    top, second = by_customer.index[:2]
    rows = [
        ("Price war by a domestic challenger in West", "market", 0.35, "6%", "region:West", "Head of West",
         "Value selling on total cost of ownership; pre-approved discount bands", "open"),
        (f"Largest customer {top} moves to dual sourcing", "customer", 0.25,
         f"{round(by_customer[top] * 0.4, -5):.0f}", f"customer:{top}", "Key account manager",
         "Three-year framework agreement with volume rebate", "mitigating"),
        ("New hires ramp slower than six months", "people", 0.40, "3000000", "company", "VP Sales",
         "Buddy system and a 90-day onboarding plan per hire", "mitigating"),
        ("Loss of a senior rep in East", "people", 0.20, "4%", "region:East", "Head of East",
         "Retention bonus for top performers; shared account coverage", "open"),
        ("Next instrument model launch slips to Q3", "product", 0.30, "8%", "product:Instruments",
         "Product manager Instruments", "Extend current model promotion; early-access units for key labs", "open"),
        ("Import delays of reagents at customs", "operations", 0.25, "5%", "product:Consumables",
         "Supply chain manager", "Six weeks of safety stock in the Shanghai and Chengdu warehouses", "mitigating"),
        ("Public lab budget freeze in North", "market", 0.30, "7%", "region:North", "Head of North",
         "Shift effort to private labs and service renewals", "open"),
        (f"Tender re-run at second-largest customer {second}", "customer", 0.20,
         f"{round(by_customer[second] * 0.5, -5):.0f}", f"customer:{second}", "Key account manager",
         "Early technical qualification; reference visits", "open"),
        ("ERP migration disrupts order entry in Q1", "operations", 0.15, "2500000", "company", "COO",
         "Parallel run in December; manual order desk for two weeks", "mitigating"),
        ("Service engineer capacity caps Services growth", "product", 0.35, "6%", "product:Services",
         "Head of Service", "Hire four engineers by March; certified partner network", "open"),
    ]
    out = pd.DataFrame(rows, columns=["title", "category", "likelihood", "impact", "driver", "owner",
                                      "mitigation", "status"])
    out.insert(0, "risk_id", [f"R-{i + 1:02d}" for i in range(len(out))])
    return out


# --------------------------------------------------------------------------- public API
def company_months(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Return the simulated company's monthly totals: its demand, what it was expected to sell, what it sold.

    Parameters
    ----------
    seed : int, default 20270101

    Returns
    -------
    pandas.DataFrame
        One row per month of the simulation (2022-01 .. 2027-12): ``month`` (first day), ``demand``
        (the regions' and products' demand), ``expected`` (``expected_sales`` summed: demand as the
        sales force of that month sells it) and ``actual`` (the deals drawn, credit notes included).
    """
    sim = _simulate(seed)
    expected = expected_sales(sim["customers"], sim["owner"], sim["factor"], sim["targets"]).sum(axis=(0, 1))
    deals = sim["deals"]
    actual = np.bincount(_month_index(pd.DatetimeIndex(deals["date"])), weights=deals["amount"].to_numpy(),
                         minlength=N_MONTHS)
    return pd.DataFrame({"month": pd.date_range(START, periods=N_MONTHS, freq="MS"),
                         "demand": sim["targets"].sum(axis=(0, 1))[:N_MONTHS], "expected": expected,
                         "actual": actual[:N_MONTHS]})


def generate(seed: int = DEFAULT_SEED) -> dict[str, pd.DataFrame]:
    """Generate the sample company's input tables.

    Parameters
    ----------
    seed : int, default 20270101
        Seed of every random draw; the same seed gives the same tables.

    Returns
    -------
    dict of str to DataFrame
        ``sales`` (deal_id, date, amount, quantity, rep_id, customer_id, customer_name, product, region;
        2022-01-01 .. 2026-10-31), ``reps`` (rep_id, name, team, region, role, hire_date, exit_date, fte),
        ``market`` (region, product, year, market_size, market_growth), ``competitors`` (competitor,
        region, share, notes), ``pipeline`` (opportunity_id, rep_id, customer_id, product, stage,
        amount, expected_close, probability), ``kpis`` (rep_id, period, metric, value), ``risks``
        (risk_id, title, category, likelihood, impact, driver, owner, mitigation, status) and ``commits``
        (the team managers' FY2027 commits: level, entity, product, period, amount, submitted_by, note).

    Examples
    --------
    >>> tables = generate()
    >>> sorted(tables)[:3]
    ['commits', 'competitors', 'kpis']
    """
    sim = _simulate(seed)
    rng = sim["rng"]
    deals = sim["deals"]
    sales = deals[deals.date <= HISTORY_END].reset_index(drop=True)
    reps = sim["reps"]
    return {
        "sales": sales,
        "reps": reps,
        "market": _market(rng[6], sim["targets"]),
        "competitors": _competitors(rng[7]),
        "pipeline": _pipeline(rng[8], deals, sim["owner"], sim["customers"], reps),
        "kpis": _kpis(rng[9], reps, sim["skill"]),
        "risks": _risks(sales),
        "commits": sample_commits(sales, reps, history_end=HISTORY_END, fiscal_year=HISTORY_END.year + 1,
                                  seed=seed),
    }


def generate_actuals(start: str = "2027-01-01", end: str = "2027-03-31", seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Generate the deals after the history, as the same simulation continued (for quarterly reviews).

    Parameters
    ----------
    start, end : str, default "2027-01-01", "2027-03-31"
        First and last day (ISO dates, inclusive), within 2026-11-01 .. 2027-12-31.
    seed : int, default 20270101
        The seed of the sample company (the same as for ``generate``).

    Returns
    -------
    DataFrame
        The columns of sales.csv: deal_id, date, amount, quantity, rep_id, customer_id, customer_name,
        product, region; deal ids continue those of the history.

    Raises
    ------
    ConfigError
        If a date is not ISO, is outside 2026-11-01 .. 2027-12-31, or start is after end.
    """
    problems = []
    bounds = {}
    for key, value in (("start", start), ("end", end)):
        try:
            bounds[key] = pd.Timestamp(dt.date.fromisoformat(str(value)))
        except ValueError:
            problems.append((key, f"expected an ISO date such as 2027-03-31, found {value!r}"))
            continue
        if not HISTORY_END < bounds[key] <= SIM_END:
            problems.append((key, f"expected a date from 2026-11-01 to 2027-12-31 (the simulated future), "
                                  f"found {value!r}"))
    if not problems and bounds["start"] > bounds["end"]:
        problems.append(("start", f"start {start!r} is after end {end!r}"))
    if problems:
        raise ConfigError(problems, "sample actuals")
    deals = _simulate(seed)["deals"]
    inside = (deals.date >= bounds["start"]) & (deals.date <= bounds["end"])
    return deals[inside].reset_index(drop=True)


def _write_csv(table: pd.DataFrame, path: Path) -> None:
    # Fixed float format, date format and line ending make the files byte-identical across runs.
    table.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.2f",
                 date_format="%Y-%m-%d")


def write_sample(folder: str | Path, seed: int = DEFAULT_SEED) -> list[Path]:
    """Write the sample company's tables as UTF-8 CSV files into ``folder``.

    Parameters
    ----------
    folder : str or Path
        Created if missing; existing files of the same names are replaced.
    seed : int, default 20270101
        Seed of every random draw, passed to ``generate``.

    Returns
    -------
    list of Path
        The files written: sales.csv, reps.csv, market.csv, competitors.csv, pipeline.csv, kpis.csv, risks.csv,
        commits.csv.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, table in generate(seed).items():
        path = folder / f"{name}.csv"
        _write_csv(table, path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    """Run ``python -m planlib.sample FOLDER`` or ``python -m planlib.sample --actuals END OUTFILE``."""
    parser = argparse.ArgumentParser(prog="python -m planlib.sample",
                                     description="Write the sample company's CSV files (deterministic).")
    parser.add_argument("path", help="folder for the sample tables; with --actuals, the CSV file to write")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help=f"seed (default {DEFAULT_SEED})")
    parser.add_argument("--actuals", metavar="END", help="write deals from --start to END (ISO date) instead")
    parser.add_argument("--start", default="2027-01-01", help="first day of --actuals (default 2027-01-01)")
    args = parser.parse_args(argv)
    if args.actuals:
        out = Path(args.path)
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_csv(generate_actuals(args.start, args.actuals, seed=args.seed), out)
        print(f"wrote {out}")
    else:
        for path in write_sample(args.path, seed=args.seed):
            print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
