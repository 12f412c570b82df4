"""Config sections up to the plan's targets: the Section base, company and fiscal calendar, data sources,
forecast, goals, allocation and initiatives (``PlanConfig`` and the loader are in ``planlib.core.config``).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = [
    "Allocation", "Company", "Data", "DataSource", "Fiscal", "Forecast", "GoalVerdict", "Goals", "Initiative",
    "Section", "SmartGoal", "SqlSource", "TABLES",
]

TABLES = ("sales", "reps", "market", "competitors", "pipeline", "kpis", "risks")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked strictly."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


# --------------------------------------------------------------------------- company, calendar
class Company(Section):
    """Whose plan it is. Name and currency have no default: a plan never borrows the sample company's."""

    name: str = Field(..., min_length=1, description="the company's name, on every page")
    currency: str = Field(..., min_length=1, description="the currency of every amount in the data, e.g. USD")
    display_unit: float = Field(1.0, gt=0, description="divide money by this for display (1000 = thousands)")
    display_unit_label: str = Field("", description="the label of shown money; empty: the currency, with k or m "
                                                    "for a display_unit of 1000 or 1000000")
    country: str | None = Field(
        None, description="ISO country code for public holidays and working days; none: no public holidays, "
                          "working days are Monday to Friday")
    subdivision: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _label(cls, raw: Any) -> Any:
        """An unlabelled amount is never shown: the label defaults to the currency (and its unit)."""
        if isinstance(raw, dict) and not raw.get("display_unit_label") and raw.get("currency"):
            unit = raw.get("display_unit", 1)
            prefix = {1: "", 1000: "k ", 1_000_000: "m "}.get(unit, f"x{unit:g} " if isinstance(unit, (int, float))
                                                                else "")
            raw = {**raw, "display_unit_label": f"{prefix}{raw['currency']}"}
        return raw


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
    preset: Literal["hubspot", "salesforce"] | None = Field(
        None, description="sales only: a CRM's whole deal export (HubSpot deals, Salesforce opportunity report), "
                          "read by its standard headers and split into won deals (the sales), open deals (the "
                          "pipeline) and lost deals (counted, not used); columns override the preset's headers")

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
    commits: DataSource | None = Field(
        None, description="managers' bottom-up commits (level, entity, product, period, amount, submitted_by, "
                          "note): one file, or a folder whose .csv/.xlsx files (one per team) are all read")
    transfers: DataSource | None = Field(
        None, description="moves of reps within the history: rep_id, date (effective), from_team, from_region, "
                          "to_team, to_region (blank: unchanged). Sales before a move count to the old team")
    reorg: dict[str, str | dict[str, float]] = Field(
        default_factory=dict, description="teams renamed or split: {old_team: new_team} or {old_team: {new_a: 0.6, "
                                          "new_b: 0.4}} (shares of the old team's history, adding to 1)")
    credit_notes: Literal["keep", "reject"] = Field("keep", description="negative amounts: keep as returns, or reject")
    total_row_labels: list[str] = Field(default_factory=lambda: ["合计", "总计", "Total", "Grand Total", "Sum"])

    @field_validator("reorg")
    @classmethod
    def _reorg(cls, v):
        problems = []
        for old, new in v.items():
            parts = new if isinstance(new, dict) else {new: 1.0}
            if old in parts:
                problems.append(f"{old!r} maps onto itself")
            if any(share <= 0 for share in parts.values()):
                problems.append(f"{old!r}: every share must be above 0, found {parts}")
            elif abs(sum(parts.values()) - 1) > 1e-9:
                problems.append(f"{old!r}: the shares of a split must add to 1, found {sum(parts.values()):g}")
            chained = sorted(set(parts) & set(v))
            if chained:
                problems.append(f"{old!r} maps to {chained}, which the reorg maps again: map {old!r} to the final "
                                f"team(s) directly")
        if problems:
            raise ValueError("; ".join(problems))
        return v

    @model_validator(mode="after")
    def _preset_on_sales_only(self):
        for name in TABLES[1:]:
            source = getattr(self, name)
            if source is not None and source.preset is not None:
                raise ValueError(f"preset is read on data.sales only (a CRM's deal export), not on data.{name}")
        return self


# --------------------------------------------------------------------------- forecast
class Forecast(Section):
    """How the forecast stage models, backtests, calibrates and reconciles (see planlib.forecast)."""

    levels: list[int] = Field(default_factory=lambda: [80, 95], description="interval levels, percent")
    models: list[Literal["ets", "holt_winters", "holt_winters_undamped", "stl_ets", "theta", "sarima", "snaive",
                        "drift"]] = Field(
        default_factory=lambda: ["holt_winters", "holt_winters_undamped", "theta", "snaive", "drift"],
        description="models fitted per series; with combine the forecast is the mean of the smoothing ones (damped and "
                    "undamped Holt-Winters, Theta), as benchmarks/forecast_real.py measured; stl_ets, ets (AICc over "
                    "forms) and sarima are opt-in: no more accurate out of sample, 3-10x the cost",
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
    n_jobs: int = Field(2, description="worker processes: 1 in this process, -1 all cores, -2 all but one")
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

    @field_validator("n_jobs")
    @classmethod
    def _n_jobs(cls, v):
        if v == 0:
            raise ValueError("n_jobs=0 asks for no worker: 1 fits in this process, -1 uses all cores, -2 all but one")
        return v


# --------------------------------------------------------------------------- goals, allocation
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
    discontinued_months: int = Field(
        6, ge=1, description="a product, region or product in a region without a sale in this many months at the "
                             "end of the history is discontinued: no target. Raise it for products whose off-season "
                             "is longer")
    product_mix_shrinkage: float = Field(0.5, ge=0, le=1, description="a team's or rep's product mix: "
                                         "0 = its own history, 1 = its parent's mix")
    uplift: dict[Literal["company", "region", "team"], float] = Field(
        default_factory=dict, description="cushion a level adds before passing its target down, e.g. team: 0.05")
    fairness_low: float = Field(0.30, ge=0, le=1, description="a rep below this P(attainment) looks unfair")
    fairness_high: float = Field(0.85, ge=0, le=1, description="a rep above this P(attainment) looks soft")
    commits: Literal["ignore", "floor", "blend"] = Field(
        "ignore", description="managers' commits (data.commits) in the targets: ignore them, take them as a floor "
                              "under the top-down target, or blend them with it; the company total never changes")
    commits_weight: float = Field(0.5, ge=0, le=1, description="blend: the commit's weight (1 - it: the top-down "
                                                               "target's)")

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


# --------------------------------------------------------------------------- initiatives
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
