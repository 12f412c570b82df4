"""The plan config: its schema (pydantic models, unknown keys are errors) and the loader.

Relative paths in a config file are relative to the folder of that file, so a
config and its data can move together. ``load_config`` lists every problem at
once, each with its key path (``forecast.levels[1]: ...``).
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from planlib.core.errors import ConfigError

TABLES = ("sales", "reps", "market", "competitors", "pipeline", "kpis", "risks")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- company, calendar
class Company(Section):
    name: str = "Sample Company"
    currency: str = "CNY"
    display_unit: float = Field(1.0, gt=0, description="divide money by this for display (1000 = thousands)")
    display_unit_label: str = ""
    country: str = Field("CN", description="ISO country code for public holidays and working days")
    subdivision: str | None = None


class Fiscal(Section):
    year: int = Field(..., ge=1900, le=2200, description="the plan year, named by the calendar year it ends in")
    start_month: int = Field(1, ge=1, le=12)
    calendar: Literal["monthly", "4-4-5", "4-5-4", "5-4-4"] = "monthly"


# --------------------------------------------------------------------------- data sources
class SqlSource(Section):
    url: str = Field(..., description="SQLAlchemy URL, e.g. sqlite:///crm.db or postgresql://user@host/db")
    query: str = Field(..., description="SQL text; values go in params as :name, never formatted in")
    params: dict[str, Any] = Field(default_factory=dict)


class DataSource(Section):
    """Where one input table comes from and how its text is read (see planlib.data)."""

    path: Path | None = Field(None, description="CSV, .xlsx or Parquet file, relative to the config file")
    sql: SqlSource | None = None
    format: Literal["auto", "csv", "excel", "parquet"] = Field("auto", description="auto: from the file suffix")
    encoding: str = Field("auto", description="auto: UTF-8 (with or without BOM), else GB18030; or a codec name")
    delimiter: str = Field(",", description="CSV field separator (one character; .tsv files default to tab)")
    sheet: str | int | None = Field(None, description="Excel sheet name or 0-based index; default the first")
    columns: dict[str, str] = Field(default_factory=dict, description="planlib name -> the file's own header")
    date_format: str | None = Field(None, description="strftime format of dates, if not ISO / unambiguous")
    dayfirst: bool | None = Field(
        None, description="01/02/2026 is 1 Feb (true) or 2 Jan (false); unset: such ambiguous dates are rejected")
    two_digit_years: int | None = Field(
        None, ge=1000, le=2100,
        description="first year of the 100-year window for two-digit years (1950: 24 -> 2024, 68 -> 1968); "
                    "unset: two-digit years are rejected")
    thousands: str = Field(",", description="thousands separator in numbers: , . ' space, or empty for none")
    decimal: str = Field(".", description="decimal mark: . or ,")

    @model_validator(mode="after")
    def _one_source(self):
        if (self.path is None) == (self.sql is None):
            raise ValueError("give exactly one of path or sql")
        if self.thousands not in (",", ".", "'", " ", ""):
            raise ValueError(f"thousands must be one of , . ' space or empty, got {self.thousands!r}")
        if self.decimal not in (".", ","):
            raise ValueError(f"decimal must be . or , (got {self.decimal!r})")
        if self.thousands == self.decimal:
            raise ValueError(f"thousands and decimal are both {self.decimal!r}; with decimal ',' use thousands '.'")
        if len(self.delimiter) != 1 or not self.delimiter.isascii() or self.delimiter in "\r\n\"":
            raise ValueError(f"delimiter must be one ASCII character other than a quote or line break, "
                             f"got {self.delimiter!r}")
        if self.date_format and "%y" in self.date_format and self.two_digit_years is None:
            raise ValueError(f"date_format {self.date_format!r} has a two-digit year (%y): set two_digit_years "
                             f"(e.g. 1950 reads 24 as 2024 and 68 as 1968) so no year is guessed")
        return self


class Data(Section):
    sales: DataSource
    reps: DataSource
    market: DataSource | None = None
    competitors: DataSource | None = None
    pipeline: DataSource | None = None
    kpis: DataSource | None = None
    risks: DataSource | None = None
    credit_notes: Literal["keep", "reject"] = Field("keep", description="negative amounts: keep as returns, or reject")
    total_row_labels: list[str] = Field(default_factory=lambda: ["合计", "总计", "Total", "Grand Total", "Sum"])


# --------------------------------------------------------------------------- forecast
class Forecast(Section):
    """How the forecast stage models, backtests, calibrates and reconciles (see planlib.forecast)."""

    levels: list[int] = Field(default_factory=lambda: [80, 95], description="interval levels, percent")
    models: list[Literal["ets", "holt_winters", "stl_ets", "theta", "sarima", "snaive", "drift"]] = Field(
        default_factory=lambda: ["holt_winters", "theta", "snaive", "drift"],
        description="candidates chosen per series by backtest; stl_ets, ets (AICc over forms) and sarima are "
                    "opt-in: no more accurate out of sample, 3-10x the cost (benchmarks/forecast.py)",
    )
    season_length: int | None = Field(None, ge=1, description="periods per seasonal cycle; none = from the data's frequency")
    backtest_origins: int = Field(3, ge=2, le=12)
    combine: bool = True
    calibrate: bool = True
    reconciliation: Literal["bottom_up", "top_down", "mint"] = "mint"
    nonnegative: bool = Field(True, description="sales: forecasts and interval bounds never below zero")
    working_days: Literal["auto", "on", "off"] = Field(
        "auto", description="forecast sales per working day (company.country's calendar) and multiply back: "
                            "auto = when that makes the history's year-on-year changes smaller on average")
    n_jobs: int = Field(2, ge=1)
    scheduler: str | None = Field(None, description="dask.distributed scheduler address; none = local processes")
    progress: bool = False

    @field_validator("levels")
    @classmethod
    def _levels(cls, v):
        bad = [x for x in v if not 0 < x < 100]
        if bad:
            raise ValueError(f"levels must be between 0 and 100 (percent), got {bad}")
        return sorted(set(v))

    @field_validator("models")
    @classmethod
    def _models(cls, v):
        if not v:
            raise ValueError("give at least one model")
        return list(dict.fromkeys(v))


# --------------------------------------------------------------------------- later sections
# Each planning topic owns one section; its module documents the meaning of each key.
class SmartGoal(Section):
    """One SMART goal: what is measured, how much, by when, who owns it and which strategy it serves."""

    name: str
    metric: str | None = Field(None, description="revenue, new_customers, market_share, retention, satisfaction "
                                                 "or any metric of kpis.csv")
    scope: str = Field("company", description='"company", "region/West", "product/Services" or '
                                              '"region_product/West/Services"')
    target: float | Literal["annual_target"] | None = Field(
        None, description="the number to reach (shares and rates as fractions, 0.18 = 18%); "
                          "annual_target = the plan's revenue target")
    unit: str = ""
    deadline: dt.date | None = None
    owner: str | None = None
    strategy: str | None = None


class GoalVerdict(Section):
    stretch_below: float = Field(0.35, gt=0, lt=1, description="P(attainment) below this: a stretch target")
    sandbagged_above: float = Field(0.75, gt=0, lt=1, description="P(attainment) above this: sandbagged")

    @model_validator(mode="after")
    def _ordered(self):
        if self.stretch_below >= self.sandbagged_above:
            raise ValueError(f"stretch_below ({self.stretch_below}) must be below sandbagged_above "
                             f"({self.sandbagged_above})")
        return self


class Goals(Section):
    mode: Literal["growth", "quantile", "stretch", "top_down"] = Field(
        "quantile", description="how the annual revenue target is set")
    growth: float = Field(0.10, gt=-1, description="growth mode: last year's actual (+ outlook) x (1 + growth)")
    quantile: float = Field(0.60, gt=0, lt=1, description="quantile mode: this quantile of the plan-year forecast")
    stretch: float = Field(0.05, gt=-1, description="stretch mode: the forecast's mean x (1 + stretch)")
    top_down: float | None = Field(None, gt=0, description="top_down mode: leadership's number, in currency")
    verdict: GoalVerdict = Field(default_factory=GoalVerdict)
    min_probability: float = Field(0.20, ge=0, lt=1, description="a goal less likely than this is not achievable")
    smart: list[SmartGoal] = Field(default_factory=list)

    @model_validator(mode="after")
    def _top_down_given(self):
        if self.mode == "top_down" and self.top_down is None:
            raise ValueError("mode top_down needs goals.top_down (leadership's number)")
        return self


class Allocation(Section):
    rounding_unit: float = Field(1000, gt=0, description="targets are whole multiples of this; parts add up exactly")
    time: Literal["seasonal", "historical", "working_days", "equal"] = Field(
        "seasonal", description="month weights: forecast seasonality, past shares, working days or equal")
    history_years: int = Field(3, ge=1, description="historical time weights: average of this many past years")
    methods: dict[Literal["equal", "historical", "forecast", "market", "capacity"], float] = Field(
        default_factory=lambda: {"forecast": 0.6, "historical": 0.3, "capacity": 0.1},
        description="weights of the org split methods, blended (normalised to 1). The default leans on what "
                    "each region is forecast and each rep has sold (their own run rate, or a ramped peer's for new "
                    "reps), so targets track what people can reach (on the sample 23% of reps under a 30% chance "
                    "and none over 85%, against 29% and 23% with 0.5/0.3/0.2); capacity keeps 0.1 so low sellers "
                    "are still asked to grow toward a colleague's rate per FTE rather than history being copied")
    ramp: list[float] | None = Field(
        None, description="productivity in a new rep's 1st, 2nd, ... month (the hire month is the 1st); 1 after. "
                          "null: capacity's ramp (capacity.ramp / ramp_months / ramp_shape, else estimated from the "
                          "history, with its level), so targets expect of new reps what capacity does")
    product_mix_shrinkage: float = Field(0.5, ge=0, le=1, description="a team's or rep's product mix: "
                                         "0 = its own history, 1 = its parent's mix")
    uplift: dict[Literal["company", "region", "team"], float] = Field(
        default_factory=dict, description="cushion a level adds before passing its target down, e.g. team: 0.05")
    fairness_low: float = Field(0.30, ge=0, le=1, description="a rep below this P(attainment) looks unfair")
    fairness_high: float = Field(0.85, ge=0, le=1, description="a rep above this P(attainment) looks soft")

    @field_validator("methods")
    @classmethod
    def _methods(cls, v):
        bad = {k: w for k, w in v.items() if w < 0}
        if bad:
            raise ValueError(f"method weights must be >= 0, found {bad}")
        if v and sum(v.values()) <= 0:
            raise ValueError("at least one method needs a positive weight")
        return v or {"forecast": 1.0}

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, v):
        bad = [x for x in v or [] if not 0 <= x <= 1]
        if bad:
            raise ValueError(f"ramp factors must be between 0 and 1, found {bad}")
        return v

    @field_validator("uplift")
    @classmethod
    def _uplift(cls, v):
        bad = {k: u for k, u in v.items() if not 0 <= u < 1}
        if bad:
            raise ValueError(f"uplift must be a fraction in [0, 1), found {bad}")
        return v


class Hiring(Section):
    earliest_start: str | None = Field(
        None, pattern=r"^\d{4}-\d{2}$", description="first month a new hire can start, 'YYYY-MM'; none = the month after as_of"
    )
    max_per_month: int = Field(2, ge=1, description="new hires per region per month that recruiting can bring in")
    max_per_region: int | None = Field(None, ge=0, description="most new hires per region in the plan; none = no limit")


class Capacity(Section):
    """Capacity: productivity, ramp and attrition (see planlib.capacity)."""

    productivity: dict[str, float] = Field(
        default_factory=dict, description="monthly sales of one fully ramped FTE by region; regions left out: from history"
    )
    productivity_window_months: int = Field(12, ge=3, le=60)
    productivity_statistic: Literal["median", "mean"] = "median"
    productivity_growth: float = Field(0.0, gt=-1, description="change of ramped productivity in the plan year (0.05 = +5%)")
    ramp_months: int | None = Field(None, ge=0, le=36, description="months before a new rep is fully productive; none = estimate")
    ramp_shape: Literal["linear", "s_curve"] = "linear"
    ramp: list[float] = Field(default_factory=list, description="the ramp month by month (fractions of full productivity)")
    ramp_level: float | None = Field(
        None, gt=0, le=1, description="share of a ramped rep's sales a new rep levels off at; none = estimated (1 if ramp given)"
    )
    existing_reps: Literal["own_run_rate", "region_productivity"] = Field(
        "own_run_rate", description="ramped reps on the roster: their own recent sales, or their region's productivity"
    )
    default_ramp_months: int = Field(6, ge=0, le=36, description="used when too few reps were hired within the history")
    min_hires_for_ramp: int = Field(4, ge=1)
    attrition_rate: float | None = Field(None, ge=0, lt=1, description="yearly share of reps who leave; none = from history")
    attrition_window_months: int = Field(24, ge=6, le=120)
    quota_roles: list[str] = Field(default_factory=lambda: ["rep"], min_length=1)
    hiring: Hiring = Field(default_factory=Hiring)

    @field_validator("ramp")
    @classmethod
    def _ramp(cls, v):
        bad = [x for x in v if not 0 <= x <= 1]
        if bad:
            raise ValueError(f"ramp fractions must be between 0 and 1, got {bad}")
        if any(b < a for a, b in zip(v, v[1:])):
            raise ValueError(f"ramp fractions must not fall from one month to the next, got {v}")
        return v

    @field_validator("productivity")
    @classmethod
    def _productivity(cls, v):
        bad = {k: x for k, x in v.items() if not x > 0}
        if bad:
            raise ValueError(f"productivity must be above 0 for every region, got {bad}")
        return v


class ExtraHeadcount(Section):
    role: str
    per: Literal["team", "region", "company"] = "team"
    count: float = Field(1.0, ge=0)


class BudgetLine(Section):
    name: str
    amount: float = Field(..., ge=0, description="yearly amount, or per FTE-year when per_head is true")
    per_head: bool = False
    allocate: Literal["target_share", "headcount", "equal"] | dict[str, float] = "target_share"

    @field_validator("allocate")
    @classmethod
    def _split(cls, v):
        if isinstance(v, dict):
            if any(x < 0 for x in v.values()):
                raise ValueError(f"a region split cannot be negative, got {v}")
            if abs(sum(v.values()) - 1.0) > 1e-6:
                raise ValueError(f"a region split must add up to 1, got {sum(v.values()):g} from {v}")
        return v


class Budget(Section):
    """Sales cost budget (see planlib.budget)."""

    base_salary: dict[str, float] = Field(
        default_factory=lambda: {"rep": 180_000.0, "manager": 360_000.0}, description="yearly base pay by role"
    )
    on_cost_rate: float = Field(0.35, ge=0, le=2, description="employer social insurance and housing fund on pay")
    hiring_cost_per_hire: float = Field(40_000.0, ge=0)
    new_hire_paid_on_target: bool = Field(True, description="new hires are paid target incentive while they ramp")
    extra_headcount: list[ExtraHeadcount] = Field(
        default_factory=lambda: [ExtraHeadcount(role="manager", per="team", count=1)]
    )
    lines: list[BudgetLine] = Field(
        default_factory=lambda: [
            BudgetLine(name="marketing", amount=3_000_000.0, allocate="target_share"),
            BudgetLine(name="travel", amount=60_000.0, per_head=True),
            BudgetLine(name="tools", amount=6_000.0, per_head=True),
        ]
    )


class Tier(Section):
    start: float = Field(..., ge=0, alias="from", description="attainment where the tier starts (1.0 = 100%)")
    rate: float = Field(..., ge=0, description="share of target incentive paid per unit of attainment in the tier")

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)


class Commission(Section):
    period: Literal["month", "quarter", "year"] = Field("quarter", description="attainment measured and paid per period")
    threshold: float = Field(0.6, ge=0, description="below this attainment nothing is paid")
    tiers: list[Tier] = Field(
        default_factory=lambda: [Tier(start=0.0, rate=0.5), Tier(start=0.6, rate=1.75), Tier(start=1.0, rate=2.0)],
        min_length=1,
    )
    cap: float | None = Field(2.0, gt=0, description="most paid in a period, as a multiple of target incentive")

    @model_validator(mode="after")
    def _tiers(self):
        starts = [t.start for t in self.tiers]
        if starts[0] != 0:
            raise ValueError(f"the first tier must start at 0 (from: 0), got from: {starts[0]:g}")
        if any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"tiers must start at rising attainments, got {starts}")
        return self


class Bonus(Section):
    name: str
    kind: Literal["champion", "team"]
    period: Literal["month", "quarter", "year"] = "month"
    amount: float = Field(..., ge=0, description="paid to each winner (champion) or each team member (team)")
    winners: int = Field(1, ge=1, description="champion: reps paid per period")
    min_attainment: float = Field(1.0, ge=0, description="attainment a winner (or the team) must reach")


class Incentives(Section):
    """Incentive plan: commission curve and bonuses (see planlib.incentives)."""

    target_incentive: dict[str, float] = Field(
        default_factory=lambda: {"rep": 120_000.0, "manager": 150_000.0},
        description="yearly variable pay at 100% attainment by role",
    )
    commission: Commission = Field(default_factory=Commission)
    bonuses: list[Bonus] = Field(
        default_factory=lambda: [
            Bonus(name="Monthly sales champion", kind="champion", period="month", amount=5_000.0),
            Bonus(name="Quarterly team bonus", kind="team", period="quarter", amount=3_000.0),
        ]
    )


class RiskScenario(Section):
    quantile: float = Field(..., gt=0, lt=1, description="quantile of the forecast plan-year total")
    risks: Literal["none", "expected", "likely"] = Field(
        "expected", description="none: no risk hits; expected: every open risk at likelihood x impact; "
        "likely: risks at or above likely_threshold hit in full, the rest at expected")


class Risk(Section):
    risks: list[dict[str, Any]] = Field(
        default_factory=list, description="risks given here instead of (or besides) the risks table; same fields")
    statuses: list[str] = Field(default_factory=lambda: ["open", "monitoring", "mitigating", "accepted", "closed"])
    closed_statuses: list[str] = Field(default_factory=lambda: ["closed"],
                                       description="risks with these statuses are listed but not simulated")
    n_sims: int = Field(10_000, ge=100, le=1_000_000)
    shock_level: Literal["region_product", "region"] = "region_product"
    calibrate_to_forecast: bool = Field(
        True, description="scale the historical shocks so the simulated company total has the forecast's spread")
    likelihood_bands: list[float] = Field(default_factory=lambda: [0.1, 0.3, 0.5, 0.7],
                                          description="upper edges of the heat map's likelihood bands")
    impact_bands: list[float] = Field(default_factory=lambda: [0.005, 0.01, 0.02, 0.05],
                                      description="upper edges of the impact bands, as a share of annual_target")
    likely_threshold: float = Field(0.3, ge=0, le=1)
    scenarios: dict[str, RiskScenario] = Field(default_factory=lambda: {
        "downside": RiskScenario(quantile=0.1, risks="likely"),
        "base": RiskScenario(quantile=0.5, risks="expected"),
        "upside": RiskScenario(quantile=0.9, risks="none"),
    })
    sensitivity: dict[str, float] = Field(
        default_factory=lambda: {"growth": 0.02, "attrition": 0.05, "ramp_months": 1.0,
                                 "pipeline_conversion": 0.10, "price": 0.02},
        description="each assumption moved down and up by this much (growth, attrition, price in "
        "points of a share; ramp_months in months; pipeline_conversion relative)")
    sensitivity_sims: int = Field(2_000, ge=100)
    ramp_months: float | None = Field(
        None, ge=0, description="ramp moved by the tornado; default: the capacity stage's ramp (estimated or set)")
    concentration_months: int = Field(12, ge=1, description="trailing months of deals used for concentration")
    top_customer_warn: float = Field(0.10, gt=0, le=1, description="one customer above this share is a risk")
    top10_warn: float = Field(0.40, gt=0, le=1)
    hhi_warn: float = Field(0.15, gt=0, le=1, description="0.15-0.25 moderately, >0.25 highly concentrated")
    top_reps: int = Field(3, ge=1)
    top_reps_warn: float = Field(0.30, gt=0, le=1)
    coverage_weighted_min: float = Field(1.0, gt=0, description="weighted pipeline / remaining target")
    coverage_unweighted_min: float = Field(3.0, gt=0, description="the 3x pipeline rule of thumb")
    open_stages_exclude: list[str] = Field(default_factory=lambda: ["Closed Won", "Closed Lost", "Won", "Lost"])

    @field_validator("likelihood_bands", "impact_bands")
    @classmethod
    def _bands(cls, v):
        if not v or any(b <= a for a, b in zip(v, v[1:])) or v[0] <= 0:
            raise ValueError(f"bands must be positive and strictly increasing, got {v}")
        return v

    @field_validator("sensitivity")
    @classmethod
    def _sensitivity(cls, v):
        known = {"growth", "attrition", "ramp_months", "pipeline_conversion", "price"}
        bad = sorted(set(v) - known)
        if bad:
            raise ValueError(f"unknown sensitivity assumption(s) {bad}; known: {sorted(known)}")
        if any(x <= 0 for x in v.values()):
            raise ValueError(f"sensitivity steps must be positive, got {v}")
        return v


class ScorecardKpi(Section):
    """One measure of the scorecard: how it is measured, the rule that scores it and its weight."""

    name: str = Field(..., min_length=1, description="the label on the scorecard, e.g. Revenue attainment")
    metric: str = Field(..., min_length=1, description="sales: revenue_attainment, new_customers or retention; "
                                                       "kpis: a metric of the kpis table (satisfaction, ...)")
    source: Literal["sales", "kpis"] = Field("sales", description="measured from the deals or the kpis table")
    weight: float = Field(..., gt=0, le=1, description="share of the composite score; the weights add up to 1")
    threshold: float = Field(..., description="the value that scores 0 (nothing below it counts)")
    target: float = Field(..., description="the value that scores 1 (100%); below threshold if lower is better")
    cap: float = Field(1.5, ge=1, description="the most the measure can score (1.5 = 150%)")

    @model_validator(mode="after")
    def _range(self):
        if self.threshold == self.target:
            raise ValueError(f"threshold and target are both {self.target:g}: the score would divide by zero; "
                             f"make threshold the value scoring 0 and target the value scoring 1")
        return self


DEFAULT_SCORECARD_KPIS = (
    {"name": "Revenue attainment", "metric": "revenue_attainment", "source": "sales", "weight": 0.5,
     "threshold": 0.6, "target": 1.0, "cap": 1.5},
    {"name": "New customers", "metric": "new_customers", "source": "sales", "weight": 0.15,
     "threshold": 0.0, "target": 3.0, "cap": 1.5},
    {"name": "Retention", "metric": "retention", "source": "sales", "weight": 0.15,
     "threshold": 0.4, "target": 0.7, "cap": 1.25},
    {"name": "Customer satisfaction", "metric": "satisfaction", "source": "kpis", "weight": 0.1,
     "threshold": 3.0, "target": 4.2, "cap": 1.25},
    {"name": "Teamwork", "metric": "teamwork", "source": "kpis", "weight": 0.05,
     "threshold": 3.0, "target": 4.2, "cap": 1.25},
    {"name": "Learning", "metric": "learning", "source": "kpis", "weight": 0.05,
     "threshold": 0.0, "target": 12.0, "cap": 1.25},
)


class Scorecard(Section):
    """Performance scorecard: weighted measures, scoring rule and rating bands (see planlib.scorecard)."""

    kpis: list[ScorecardKpi] | None = Field(
        None, min_length=1, description="the measures; none: DEFAULT_SCORECARD_KPIS, keeping those of the kpis "
                                        "table only where the table has their metric (weights scaled to add to 1)")
    bands: dict[str, float] = Field(
        default_factory=lambda: {"exceeds": 1.1, "meets": 0.9, "below": 0.0},
        description="rating -> lowest composite score that earns it; one band starts at 0")
    kpis_max_age: int = Field(2, ge=0, description="a kpis value up to this many quarters older than the scored "
                                                   "quarter is used when the quarter has none (surveys lag)")
    retention_months: int = Field(12, ge=1, le=60, description="retention: customers a rep sold to in this many "
                                                               "months before the quarter who bought again in it")
    tenure_bands: list[int] = Field(default_factory=lambda: [6, 12, 36],
                                    description="months of tenure that split reps into groups for the spread")
    fairness_gap: float = Field(0.15, gt=0, description="a region or tenure group whose mean composite differs "
                                                        "from everyone's by more than this is flagged")

    @model_validator(mode="after")
    def _whole(self):
        kpis = self.kpis or []
        total = sum(k.weight for k in kpis)
        if kpis and abs(total - 1.0) > 1e-9:
            raise ValueError(f"kpi weights must add up to 1, they add up to {total:g} "
                             f"({', '.join(f'{k.name}: {k.weight:g}' for k in kpis)})")
        names = [k.name for k in kpis]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"kpi names must be unique, repeated: {repeated}")
        if not self.bands or min(self.bands.values()) != 0 or any(v < 0 for v in self.bands.values()):
            raise ValueError(f"bands must be >= 0 with one band starting at 0 so every score has a rating, "
                             f"got {self.bands}")
        if len(set(self.bands.values())) != len(self.bands):
            raise ValueError(f"two bands start at the same score: {self.bands}")
        if any(b <= a for a, b in zip(self.tenure_bands, self.tenure_bands[1:])) or any(
                m <= 0 for m in self.tenure_bands):
            raise ValueError(f"tenure_bands must be positive and increasing, got {self.tenure_bands}")
        return self


class Review(Section):
    """The quarterly review: which plan of record, as of when, which actuals (see planlib.review)."""

    plan: Path | None = Field(None, description="the plan of record's bundle folder, e.g. ../reports/FY2027/v001; "
                                                "none: the plan the config's stages make")
    as_of: dt.date | None = Field(None, description="the review date: months ending on or before it are closed; "
                                                    "none: the config's as_of")
    actuals: Path | None = Field(None, description="a file of the deals after the plan's history, in the layout "
                                                   "of data.sales (its columns and formats apply); none: the "
                                                   "sales source of data holds them")
    reset_quantile: float = Field(0.5, gt=0, lt=1, description="the reset option sets the rest of the year to "
                                                               "this quantile of the re-forecast")
    unreasonable_above: float = Field(1.25, gt=1, description="a target needing more than this x its plan pace "
                                                              "for the rest of the year is unreasonable")
    min_probability: float | None = Field(None, ge=0, lt=1, description="a target less likely than this under "
                                                                        "the re-forecast is unreasonable; none: "
                                                                        "goals.min_probability")
    easy_probability: float = Field(0.95, gt=0, lt=1, description="a target more likely than this is too easy")
    notebooks: list[str] = Field(default_factory=lambda: ["06_quarterly_review.ipynb"], min_length=1,
                                 description="notebooks run by `planlib review`, from report.notebooks_dir")


class Initiative(Section):
    """One initiative of the action plan: what is done, who answers for it, when, for which goal, what it brings.

    Checks against the rest of the plan (the goal exists, the region and product exist in the
    data, the dates touch the plan year, names are unique) are made by ``planlib.initiatives``.
    """

    name: str = Field(..., description="short and unique; it labels the bridge and the timeline")
    strategy: Literal["product", "channel", "price", "promotion"] = Field(
        ..., description="the strategy it belongs to: product, channel, price or promotion")
    owner: str = Field(..., description="who answers for it: a name or a role")
    start: dt.date
    end: dt.date = Field(..., description="last day; on or after start")
    goal: str = Field(..., description="the name of the SMART goal it serves (one of goals.smart)")
    expected_effect: float | str = Field(
        ..., description="extra revenue: an amount in currency over its whole run (1200000; pro-rated to the "
                         "plan year by days active), or a share of its scope's forecast sales while it runs ('3%')")
    region: str | None = Field(None, description="the region it works in; none = every region")
    product: str | None = Field(None, description="the product it works on; none = every product")
    description: str = Field("", description="what is done, in a sentence")

    @field_validator("name", "owner", "goal")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("must not be blank")
        return v.strip()

    @field_validator("region", "product")
    @classmethod
    def _blank_is_none(cls, v: str | None) -> str | None:
        return v.strip() or None if v is not None else None

    @field_validator("expected_effect")
    @classmethod
    def _effect(cls, v: float | str) -> float | str:
        cls.parse_effect(v)
        return v

    @model_validator(mode="after")
    def _dates(self):
        if self.end < self.start:
            raise ValueError(f"end {self.end} is before start {self.start}")
        return self

    @staticmethod
    def parse_effect(value: float | str) -> tuple[str, float]:
        """Read an expected effect: 1200000 or "1,200,000" -> ("amount", 1.2e6); "3%" -> ("share", 0.03).

        Raises
        ------
        ValueError
            For text that is neither, a share at or below -100% or above 100%, or a value that is not finite.
        """
        text = str(value).strip().replace(",", "").replace("，", "").replace("_", "")
        expected = "an amount in currency (1200000) or a share of the scope's sales ('3%')"
        try:
            number = float(text[:-1] if text.endswith("%") else text)
        except ValueError:
            raise ValueError(f"expected {expected}, got {value!r}") from None
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(f"expected {expected}, got {value!r}")
        if text.endswith("%"):
            if not -100 < number <= 100:
                raise ValueError(f"a share must be above -100% and at most 100%, got {value!r}")
            return "share", number / 100
        return "amount", number


class Report(Section):
    title: str = "Annual sales plan"
    output_dir: Path = Path("reports")
    notebooks: list[str] = Field(
        default_factory=lambda: ["01_market_analysis.ipynb"],
        description="notebooks run in order by `planlib plan`, from notebooks_dir",
    )
    notebooks_dir: Path | None = Field(None, description="default: the notebooks/ folder of the project")
    kernel: str = "python3"
    workers: int = Field(2, ge=1, description="notebooks run side by side (each in its own kernel), after the "
                                              "stages they share are computed once")


class PlanConfig(Section):
    company: Company = Field(default_factory=Company)
    fiscal: Fiscal
    as_of: dt.date = Field(..., description="the day the plan is made; history ends at the last closed month")
    seed: int = Field(20270101, description="seed of every random draw")
    data: Data
    forecast: Forecast = Field(default_factory=Forecast)
    goals: Goals = Field(default_factory=Goals)
    allocation: Allocation = Field(default_factory=Allocation)
    capacity: Capacity = Field(default_factory=Capacity)
    budget: Budget = Field(default_factory=Budget)
    incentives: Incentives = Field(default_factory=Incentives)
    risk: Risk = Field(default_factory=Risk)
    scorecard: Scorecard = Field(default_factory=Scorecard)
    initiatives: list[Initiative] = Field(default_factory=list, description="the action plan (planlib.initiatives)")
    review: Review = Field(default_factory=Review)
    report: Report = Field(default_factory=Report)

    # set by the loader, not by the file
    base_dir: Path = Field(default_factory=Path.cwd, exclude=True)

    def resolve(self, path: Path | str) -> Path:
        """Return ``path`` made absolute against the config file's folder."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()

    @property
    def last_closed_month(self) -> "dt.date":
        """First day of the last month fully before ``as_of`` (e.g. as_of 2026-11-26 -> 2026-10-01)."""
        first = self.as_of.replace(day=1)
        return (first - dt.timedelta(days=1)).replace(day=1)

    def section_hash(self, *names: str) -> str:
        """sha256 of the named sections (resolved), used to key cached stages."""
        dumped = self.model_dump(mode="json")
        payload = {n: dumped.get(n) for n in names}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "(top)"


def parse_config(raw: dict[str, Any], *, base_dir: Path | str | None = None, source: str | None = None) -> PlanConfig:
    """Validate a config mapping; raise ConfigError listing every problem with its key path."""
    if not isinstance(raw, dict):
        raise ConfigError([("(top)", f"expected a mapping of sections, got {type(raw).__name__}")], source)
    try:
        cfg = PlanConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            msg = err["msg"]
            if err["type"] == "extra_forbidden":
                msg = f"unknown key (value {err.get('input')!r}); check the spelling against templates/plan.yaml"
            elif "input" in err and err["type"] != "missing":
                msg = f"{msg} (found {err['input']!r})"
            problems.append((_loc(err["loc"]), msg))
        raise ConfigError(problems, source) from None
    cfg.base_dir = Path(base_dir).resolve() if base_dir else Path.cwd()
    return cfg


def find_config(path: str | Path) -> Path:
    """Find a config path given relative to the working folder or to any of its parents.

    A notebook opened in JupyterLab runs in notebooks/, papermill from the project
    root: both find ``templates/plan.yaml`` this way.
    """
    p = Path(path).expanduser()
    if p.is_absolute() or p.exists():
        if not p.exists():
            raise ConfigError([("(file)", f"config file not found: {p}")])
        return p.resolve()
    for parent in [Path.cwd(), *Path.cwd().parents]:
        if (parent / p).exists():
            return (parent / p).resolve()
    raise ConfigError([("(file)", f"config file not found: {p} (looked in {Path.cwd()} and its parents)")])


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> PlanConfig:
    """Read and validate a YAML config file.

    Parameters
    ----------
    path : str or Path
        The YAML file; relative paths inside it are relative to its folder.
    overrides : dict, optional
        Dotted keys to set after reading, e.g. ``{"fiscal.year": 2028}``.

    Raises
    ------
    ConfigError
        Listing every problem with its key path.
    """
    file = find_config(path)
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError([("(file)", f"not valid YAML: {exc}")], str(file)) from None
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return parse_config(raw, base_dir=file.parent, source=str(file))
