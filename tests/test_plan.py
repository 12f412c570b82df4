"""The stage graph: declared inputs only, keys made of them, and a cache that stores data and runs no code."""
import pickle
import re
import stat
from pathlib import Path

import pytest

import planlib
from planlib.core import graph
from planlib.core.config import parse_config
from planlib.core.errors import ConfigError, StageInputError

RAW = {"company": {"name": "Test Co", "currency": "CNY", "country": "CN"}, "fiscal": {"year": 2027}, "as_of": "2026-11-26",
       "data": {"sales": {"path": "s.csv"}, "reps": {"path": "r.csv"}}}
TEST_STAGES = ("t_base", "t_double", "t_sneaky", "t_sneaky_stage", "t_country", "t_mutate", "t_frame")


@pytest.fixture
def counting_stages():
    calls = {"base": 0, "double": 0}
    graph.stages()  # register the real stages first, so removing ours leaves them intact

    @graph.stage("t_base", config=("fiscal",))
    def base(p):
        calls["base"] += 1
        return p.config.fiscal.year

    @graph.stage("t_double", needs=("t_base",))
    def double(p):
        calls["double"] += 1
        return 2 * p["t_base"]

    @graph.stage("t_sneaky", config=("fiscal",))
    def sneaky(p):
        return p.config.seed  # not declared

    @graph.stage("t_sneaky_stage", needs=("t_base",))
    def sneaky_stage(p):
        return p["t_double"]  # not declared

    @graph.stage("t_country", config=("company.country",))
    def country(p):
        return p.config.company.country, p.config.company.name

    @graph.stage("t_mutate", config=("fiscal",))
    def mutate(p):
        p.config.fiscal.year = 1999  # a copy: the plan's config stays
        return p.config.fiscal.year

    yield calls
    for name in TEST_STAGES:
        graph._STAGES.pop(name, None)


def test_a_stage_is_computed_once_and_then_read_from_disk(tmp_path, counting_stages):
    p = planlib.Plan(parse_config(RAW), tmp_path)
    assert p["t_double"] == 4054
    assert p.get("t_double") == 4054
    assert counting_stages == {"base": 1, "double": 1}
    fresh = planlib.Plan(parse_config(RAW), tmp_path)
    assert fresh["t_double"] == 4054
    assert counting_stages == {"base": 1, "double": 1}
    assert sorted(f.name.split("-")[0] for f in tmp_path.iterdir()) == ["t_base", "t_double"]
    assert not list(tmp_path.rglob("*.pkl"))


def test_changing_a_config_section_changes_the_key_of_dependants(tmp_path, counting_stages):
    a = planlib.Plan(parse_config(RAW), tmp_path)
    b = planlib.Plan(parse_config({**RAW, "fiscal": {"year": 2028}}), tmp_path)
    c = planlib.Plan(parse_config({**RAW, "seed": 7}), tmp_path)
    assert a.key("t_double") != b.key("t_double")
    assert a.key("t_double") == c.key("t_double")  # t_base reads fiscal only
    assert b["t_double"] == 4056


def test_a_stage_that_reads_an_undeclared_section_or_stage_is_stopped_by_name(tmp_path, counting_stages):
    p = planlib.Plan(parse_config(RAW), tmp_path)
    with pytest.raises(StageInputError, match=r"stage 't_sneaky' read config section 'seed'.*declares \['fiscal'\]"):
        p["t_sneaky"]
    with pytest.raises(StageInputError, match=r"stage 't_sneaky_stage' read stage 't_double'.*needs \['t_base'\]"):
        p["t_sneaky_stage"]


def test_a_declared_field_opens_that_field_only(tmp_path, counting_stages):
    p = planlib.Plan(parse_config(RAW), tmp_path)
    with pytest.raises(StageInputError, match=r"stage 't_country' read config 'company.name'"):
        p["t_country"]
    # the key follows the declared field and nothing else of the section
    named = planlib.Plan(parse_config({**RAW, "company": {**RAW["company"], "name": "Other"}}), tmp_path)
    moved = planlib.Plan(parse_config({**RAW, "company": {**RAW["company"], "country": "US"}}), tmp_path)
    assert named.key("t_country") == p.key("t_country") != moved.key("t_country")


def test_the_config_is_read_only_inside_a_stage(tmp_path, counting_stages):
    p = planlib.Plan(parse_config(RAW), None)
    assert p["t_mutate"] == 1999  # the stage changed its own copy ...
    assert p.config.fiscal.year == 2027  # ... never the plan's
    view = graph.ConfigView(p.config, ("fiscal",), "t_x")
    with pytest.raises(StageInputError, match="stage 't_x' tried to change config.fiscal"):
        view.fiscal = None


def test_the_key_holds_the_versions_of_numeric_packages_and_the_code(tmp_path, counting_stages, monkeypatch):
    before = planlib.Plan(parse_config(RAW), None).key("t_base")
    monkeypatch.setattr(graph, "_versions", lambda: {"pandas": "0.0-other"})
    assert planlib.Plan(parse_config(RAW), None).key("t_base") != before
    monkeypatch.undo()
    monkeypatch.setattr(graph, "_CODE_DIGEST", ["another planlib"])
    assert planlib.Plan(parse_config(RAW), None).key("t_base") != before


def test_an_unknown_stage_says_which_exist_and_attributes_run_nothing(tmp_path):
    p = planlib.Plan(parse_config(RAW), tmp_path)
    with pytest.raises(KeyError, match=r"no stage 'nonsense'.*'market'"):
        p["nonsense"]
    # no attribute magic: asking whether the plan has a forecast computes nothing
    assert not hasattr(p, "forecast")
    assert p._results == {}


def test_every_stage_declares_stages_that_exist_and_the_graph_has_no_cycle():
    rows = graph.describe_stages()
    names = [r["stage"] for r in rows]
    assert sorted(names) == sorted(graph.stages())
    for row in rows:  # topological: what a stage needs comes before it
        for dep in filter(None, row["needs"].replace("-", "").split(", ")):
            assert names.index(dep) < names.index(row["stage"]), row
    by_name = {r["stage"]: r for r in rows}
    assert by_name["forecast"]["needs"] == "history"
    assert "company.country" in by_name["forecast"]["config"]
    assert "forecast" in by_name["history"]["read by"]
    assert by_name["inputs"]["outside the config"] == "files"


def test_the_sample_stages_read_only_what_they_declare():
    # every real stage runs under its restricted view on the sample company without tripping it
    plan = planlib.Plan(planlib.load_config(Path(__file__).resolve().parents[1] / "templates" / "plan.yaml"), None)
    for name in ("targets", "budget", "incentive_cost", "bridge", "concentration", "sensitivity", "fairness",
                 "goal_cards", "market", "scorecard_definition"):
        assert plan[name] is not None


# --------------------------------------------------------------------------- the cache folder and its files
def test_a_cache_dir_other_users_can_write_is_refused(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(ConfigError, match=r"cache_dir: .*shared can be written by other users \(mode 777\).*chmod go-w"):
        planlib.Plan(parse_config(RAW), shared)
    fresh = tmp_path / "new" / "cache"
    planlib.Plan(parse_config(RAW), fresh)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o700


class _Planted:
    """Unpickling this creates a marker file: the proof that a cache ran code."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_planted_pickle_and_a_corrupt_file_run_nothing_and_the_plan_is_right(tmp_path, counting_stages):
    cache = tmp_path / "cache"
    clean = planlib.Plan(parse_config(RAW), cache)
    assert clean["t_double"] == 4054
    base_folder = cache / f"t_base-{clean.key('t_base')[:24]}"
    double_folder = cache / f"t_double-{clean.key('t_double')[:24]}"
    marker = tmp_path / "ran"
    # an attacker replaces one result with a pickle, under every name the old cache used, and corrupts another
    payload = pickle.dumps(_Planted(str(marker)))
    for folder in (base_folder,):
        for child in folder.iterdir():
            child.write_bytes(payload)
        (folder / "value.pkl").write_bytes(payload)
    (cache / f"t_base-{clean.key('t_base')[:24]}.pkl").write_bytes(payload)
    (double_folder / "value.json").write_text("{not json", encoding="utf-8")

    again = planlib.Plan(parse_config(RAW), cache)
    assert again["t_double"] == 4054
    assert again["t_base"] == 2027
    assert not marker.exists()
    assert counting_stages == {"base": 2, "double": 2}  # both recomputed, neither read
    assert len(again.cache_events) == 2
    assert any(e.startswith("stage t_double: cache unreadable, recomputed") and "value.json" in e
               for e in again.cache_events), again.cache_events
    # and the recomputed results were stored again as data
    third = planlib.Plan(parse_config(RAW), cache)
    assert third["t_double"] == 4054 and third.cache_events == []


def test_no_pickle_anywhere_in_planlib():
    root = Path(planlib.__file__).parent
    loads = re.compile(r"^\s*(import|from) (c?pickle|joblib|dill)\b|pickle\.loads?\(|allow_pickle\s*=\s*True", re.M)
    users = [str(p.relative_to(root)) for p in root.rglob("*.py") if loads.search(p.read_text(encoding="utf-8"))]
    assert users == []


def test_public_names_match_all():
    public = {n for n in dir(planlib) if not n.startswith("_") and n not in {"annotations"}}
    modules = {n for n in public if type(getattr(planlib, n)).__name__ == "module"}
    assert set(planlib.__all__) - {"__version__"} == public - modules


def test_every_module_that_declares_a_stage_is_listed_for_the_graph():
    root = Path(planlib.__file__).parent
    declaring = sorted("planlib." + ".".join(p.relative_to(root).with_suffix("").parts) for p in root.rglob("*.py")
                       if re.search(r"^@stage\(", p.read_text(encoding="utf-8"), re.M))
    assert sorted(graph.STAGE_MODULES) == declaring


# --------------------------------------------------------------------------- one plan: hires, odds and money agree
def test_the_sample_plan_gives_its_hires_targets_and_one_probability(tmp_path):
    import numpy as np
    import pandas as pd

    from planlib.planning import allocate
    from planlib.resources.hiring import hire_label
    from planlib.risk import what_if_figures

    plan = planlib.Plan.from_config(Path(__file__).resolve().parents[1] / "templates" / "plan.yaml",
                                    cache_dir=tmp_path / "cache")
    hires = plan["hiring_plan"].hires
    assert len(hires) > 0  # the sample's team reaches less than its target
    targets = plan["targets"]
    rep_year = targets[(targets["level"] == "rep") & (targets["period_type"] == "year")].set_index("entity")["target"]
    labels = [hire_label(r, n) for r, n in zip(hires["region"], hires["hire_no"])]
    assert set(labels) <= set(rep_year.index) and (rep_year[labels] > 0).all()
    # reps and hires add up to their teams, and teams to the team split capacity read, at every level
    assert allocate.check_targets(plan["allocation"]).empty
    team_split = plan["team_targets"]
    assert targets[targets["level"].isin(["company", "team", "team_product"])].reset_index(drop=True).equals(
        team_split[team_split["level"].isin(["company", "team", "team_product"])].reset_index(drop=True))
    # a hire carries nothing before its start month, and along the capacity model's own ramp after it
    ins, ramp = plan["allocation"].inputs, plan["capacity"].ramp
    month_of = pd.to_datetime(ins.pieces["month"] + "-01")
    for row in plan["planned_hires"].roster.itertuples():
        months = targets[(targets["entity"] == row.rep_id) & (targets["level"] == "rep")
                         & (targets["period_type"] == "month")]
        before = pd.to_datetime(months["period"] + "-01") < row.start_month
        assert (months.loc[before, "target"] == 0).all()
        tenure = (month_of.dt.year - row.start_month.year) * 12 + month_of.dt.month - row.start_month.month + 1
        open_ = ins.pieces["working_days"].to_numpy() > 0  # a week of holidays is nobody's (New Year, Golden Week)
        expected = np.where((tenure >= 1) & open_, ramp.factor(tenure.to_numpy()), 0.0)
        np.testing.assert_allclose(ins.rep_availability[ins.reps.index(row.rep_id)], expected, rtol=1e-12)
    # one probability: the Monte Carlo of reps and hires, and the what-if on its draws with nothing moved
    mc = plan["monte_carlo"]
    assert set(labels) <= set(mc.rep_ids)
    figures = what_if_figures(plan)
    assert figures["p_target_base"] == figures["p_target"] == mc.p_target == mc.summary["p_target"]
    assert figures["revenue_base"] == pytest.approx(mc.summary["mean_revenue"], rel=1e-6)
    # the budget's variable pay is the incentive model's expected payout plus the ramping hires' guarantee
    budget, cost = plan["budget"], plan["incentive_cost"]
    moving = budget.lines[budget.lines["line"].isin(["variable pay", "variable pay: new hires", "bonuses"])]
    items = budget.variable_pay.set_index("item")["amount"]
    assert items.iloc[0] == cost.summary["expected_payout"]
    assert items.iloc[-1] == moving["amount"].sum()
    assert abs(items.iloc[2]) <= 0.5 * len(moving)  # whole units, line by line
    # the bridge counts no more than the team and its hires can sell
    bridge, summary = plan["bridge"], plan["hiring_plan"].summary.set_index("region")
    assert bridge.steps["amount"].sum() == bridge.target
    counted = bridge.steps.loc[bridge.steps["kind"] != "gap", "amount"].sum()
    assert counted <= round(summary.loc["Total", "capacity_with_hires"])
