"""Config sections of the operating plan around the targets: capacity and hiring, budget, incentives,
risk, scorecard, the quarterly review and the report (``PlanConfig`` is in ``planlib.core.config``).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from planlib.core.config_targets import Section

__all__ = [
    "Bonus", "Budget", "BudgetLine", "Capacity", "Commission", "DEFAULT_SCORECARD_KPIS", "ExtraHeadcount",
    "Hiring", "Incentives", "PLAN_NOTEBOOKS", "Report", "Review", "Risk", "RiskScenario", "Scorecard",
    "ScorecardKpi", "Tier",
]


# --------------------------------------------------------------------------- resources
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

    # Amounts have no default of their own (they only make sense in one currency): left out, they are set
    # from the company's sales per rep and listed as assumed (planlib.resources.assumptions).
    base_salary: dict[str, float] | None = Field(
        None, description="yearly base pay by role; none: a share of one full-time rep's yearly sales")
    on_cost_rate: float = Field(0.35, ge=0, le=2, description="employer social insurance and benefits on pay")
    hiring_cost_per_hire: float | None = Field(
        None, ge=0, description="recruiting, onboarding and equipment per hire; none: a share of base pay")
    new_hire_paid_on_target: bool = Field(True, description="new hires are paid target incentive while they ramp")
    extra_headcount: list[ExtraHeadcount] = Field(
        default_factory=lambda: [ExtraHeadcount(role="manager", per="team", count=1)]
    )
    lines: list[BudgetLine] = Field(default_factory=list, description="other yearly costs; none by default")


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

    target_incentive: dict[str, float] | None = Field(
        None, description="yearly variable pay at 100% attainment by role; none: a share of one full-time "
                          "rep's yearly sales (planlib.resources.assumptions)")
    commission: Commission = Field(default_factory=Commission)
    bonuses: list[Bonus] = Field(default_factory=list, description="bonuses besides commission; none by default")


# --------------------------------------------------------------------------- risk
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


# --------------------------------------------------------------------------- scorecard, review
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
                                                   "of data.sales (its columns and formats apply), or a HubSpot "
                                                   "deals export or Salesforce opportunity report (told by its "
                                                   "headers, read by its preset); none: the sales source of data "
                                                   "holds them")
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


# --------------------------------------------------------------------------- report
# The whole plan: what `planlib plan` runs when report.notebooks is left out (06 is run by `planlib review`).
PLAN_NOTEBOOKS = ("01_market_analysis.ipynb", "02_goal_setting.ipynb", "03_resources.ipynb",
                  "04_risk_review.ipynb", "05_annual_plan.ipynb")


class Report(Section):
    title: str = "Annual sales plan"
    output_dir: Path = Path("reports")
    notebooks: list[str] = Field(
        default_factory=lambda: list(PLAN_NOTEBOOKS),
        description="notebooks run in order by `planlib plan`, from notebooks_dir; default: the whole plan. "
                    "07_commits.ipynb is run after them when data.commits is given",
    )
    notebooks_dir: Path | None = Field(
        None, description="folder of custom notebooks; default: a notebooks/ folder beside the config (or above "
                          "it) holding every listed notebook, else the notebooks that ship with planlib")
    kernel: str = "python3"
    workers: int = Field(2, ge=1, description="notebooks run side by side (each in its own kernel), after the "
                                              "stages they share are computed once")
