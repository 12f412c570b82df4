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
