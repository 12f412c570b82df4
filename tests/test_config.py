"""The config loader: every problem listed with its key path; paths relative to the config file."""
import datetime as dt
import re
from pathlib import Path

import pytest
import yaml

from planlib.core.config import find_config, load_config, parse_config
from planlib.core.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
MINIMAL = {
    "company": {"name": "Test Co", "currency": "CNY", "country": "CN"},
    "fiscal": {"year": 2027},
    "as_of": "2026-11-26",
    "data": {"sales": {"path": "sales.csv"}, "reps": {"path": "reps.csv"}},
}


def test_template_loads_and_resolves_paths_against_its_folder():
    cfg = load_config(ROOT / "templates" / "plan.yaml")
    assert cfg.fiscal.year == 2027
    assert cfg.as_of == dt.date(2026, 11, 26)
    assert cfg.resolve(cfg.data.sales.path) == ROOT / "data" / "sample" / "sales.csv"
    assert cfg.last_closed_month == dt.date(2026, 10, 1)


def test_last_closed_month_across_a_year_boundary():
    cfg = parse_config({**MINIMAL, "as_of": "2027-01-03"})
    assert cfg.last_closed_month == dt.date(2026, 12, 1)


def test_every_problem_is_listed_with_its_key_path():
    raw = {
        "company": {"name": "Test Co", "currency": "CNY"},
        "fiscal": {"year": 2027, "start_month": 13},
        "as_of": "not a date",
        "data": {"sales": {"path": "s.csv", "colums": {}}, "reps": {"path": "r.csv"}},
        "forecast": {"levels": [80, 150], "n_jobs": "two"},
        "bogus": 1,
    }
    with pytest.raises(ConfigError) as info:
        parse_config(raw, source="plan.yaml")
    msg = str(info.value)
    assert "in plan.yaml" in msg
    for path in ["fiscal.start_month", "as_of", "data.sales.colums", "forecast.levels", "forecast.n_jobs", "bogus"]:
        assert f"  - {path}:" in msg, path
    assert "unknown key" in msg
    assert "150" in msg
    assert len(info.value.problems) == 6


def test_a_data_source_needs_exactly_one_of_path_or_sql():
    raw = {**MINIMAL, "data": {"sales": {}, "reps": {"path": "r.csv", "sql": {"url": "sqlite://", "query": "x"}}}}
    with pytest.raises(ConfigError, match=r"data\.sales: .*exactly one of path or sql") as info:
        parse_config(raw)
    assert "data.reps" in str(info.value)


def test_overrides_use_dotted_keys(tmp_path):
    f = tmp_path / "plan.yaml"
    f.write_text(yaml.safe_dump(MINIMAL), encoding="utf-8")
    cfg = load_config(f, {"fiscal.year": 2030, "forecast.n_jobs": 1})
    assert (cfg.fiscal.year, cfg.forecast.n_jobs) == (2030, 1)
    assert cfg.resolve("sales.csv") == tmp_path / "sales.csv"


def test_find_config_walks_up_from_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "templates").mkdir()
    target = tmp_path / "templates" / "plan.yaml"
    target.write_text("x: 1", encoding="utf-8")
    (tmp_path / "notebooks").mkdir()
    monkeypatch.chdir(tmp_path / "notebooks")
    assert find_config("templates/plan.yaml") == target
    with pytest.raises(ConfigError, match="config file not found: nowhere.yaml"):
        find_config("nowhere.yaml")


def test_invalid_yaml_is_a_config_error(tmp_path):
    f = tmp_path / "bad.yaml"
    f.write_text("fiscal: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(f)


def test_section_hash_changes_with_the_section_only():
    a = parse_config(MINIMAL)
    b = parse_config({**MINIMAL, "forecast": {"n_jobs": 1}})
    assert a.section_hash("fiscal") == b.section_hash("fiscal")
    assert a.section_hash("forecast") != b.section_hash("forecast")


def test_the_template_names_every_key_of_the_config():
    """Issue 16: the template lists every key (data-source keys once, for all tables); a key added to the schema
    and left out of the template fails here."""
    from planlib.core.config import config_keys

    text = (ROOT / "templates" / "plan.yaml").read_text(encoding="utf-8")
    every = config_keys()
    assert len(every) > 300 and "data.sales.delimiter" in every and "goals.smart.scope" in every
    assert "base_dir" not in every  # set by the loader, not written
    missing = sorted({k.rsplit(".", 1)[-1] for k in every if not re.search(rf"\b{k.rsplit('.', 1)[-1]}\b", text)})
    assert missing == []


def test_the_readme_lists_every_key_of_the_config():
    """Issue 16: the README lists every key too, generated from the schema and checked here, so it cannot go stale."""
    from planlib.core.config import config_keys, key_reference

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    start = "<!-- config keys: planlib.core.config.key_reference(); tests/test_config.py checks this list -->\n"
    block = text.split(start, 1)[1].split("\n<!-- /config keys -->", 1)[0]
    assert block == key_reference()
    # and the list names each key: a section's own keys by their path inside it, a table's keys once
    for key in config_keys():
        section, _, inside = key.partition(".")
        line = next(ln for ln in block.splitlines() if ln.startswith(f"- `{section}`"))
        last = inside.split(".", 1)[1] if section == "data" and inside.count(".") else inside
        assert not inside or re.search(rf"(?<![\w.]){re.escape(last)}(?![\w])", line), key
    assert "notebooks_dir" in block and "sql.url" in block and "transfers" in block
