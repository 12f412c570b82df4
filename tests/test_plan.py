"""The stage-caching Plan: computed once, cached on disk by a key of its inputs."""
import pytest

import planlib
from planlib.core import graph as plan_module
from planlib.core.config import parse_config

RAW = {"fiscal": {"year": 2027}, "as_of": "2026-11-26",
       "data": {"sales": {"path": "s.csv"}, "reps": {"path": "r.csv"}}}


@pytest.fixture
def counting_stages(monkeypatch):
    calls = {"base": 0, "double": 0}
    plan_module.stages()  # register the real stages first, so removing ours leaves them intact

    @plan_module.stage("t_base", config=("fiscal",))
    def base(p):
        calls["base"] += 1
        return p.config.fiscal.year

    @plan_module.stage("t_double", needs=("t_base",))
    def double(p):
        calls["double"] += 1
        return 2 * p.t_base

    yield calls
    for name in ("t_base", "t_double"):
        plan_module._STAGES.pop(name, None)


def test_a_stage_is_computed_once_and_then_read_from_disk(tmp_path, counting_stages):
    p = planlib.Plan(parse_config(RAW), tmp_path)
    assert p.t_double == 4054
    assert p.t_double == 4054
    assert counting_stages == {"base": 1, "double": 1}
    fresh = planlib.Plan(parse_config(RAW), tmp_path)
    assert fresh.t_double == 4054
    assert counting_stages == {"base": 1, "double": 1}
    assert len(list(tmp_path.glob("t_*.pkl"))) == 2


def test_changing_a_config_section_changes_the_key_of_dependants(tmp_path, counting_stages):
    a = planlib.Plan(parse_config(RAW), tmp_path)
    b = planlib.Plan(parse_config({**RAW, "fiscal": {"year": 2028}}), tmp_path)
    c = planlib.Plan(parse_config({**RAW, "seed": 7}), tmp_path)
    assert a.key("t_double") != b.key("t_double")
    assert a.key("t_double") == c.key("t_double")  # t_base reads fiscal only
    assert b.t_double == 4056


def test_an_unknown_stage_says_which_exist(tmp_path):
    p = planlib.Plan(parse_config(RAW), tmp_path)
    with pytest.raises(AttributeError, match=r"no stage 'nonsense'.*'market'"):
        p.nonsense


def test_public_names_match_all():
    public = {n for n in dir(planlib) if not n.startswith("_") and n not in {"annotations"}}
    modules = {n for n in public if type(getattr(planlib, n)).__name__ == "module"}
    assert set(planlib.__all__) - {"__version__"} == public - modules
