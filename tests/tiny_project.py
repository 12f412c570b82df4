"""A tiny plan project for runner tests: two regions, two products, small notebooks written with nbformat.

Used by tests/test_runner.py and tests/test_cli.py; each run takes a few seconds.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import nbformat

PARAMETERS = (
    'config: str = "plan.yaml"  # the plan config, found from the working folder or its parents\n'
    'cache_dir: str = ""  # where plan stages are cached; empty: <output_dir>/.cache\n'
    "interactive: bool = True  # show ipywidgets what-ifs (False under the runner: static results)"
)
OPEN_PLAN = "import planlib\nplan = planlib.Plan.from_config(config, cache_dir=cache_dir or None)"

# Sales: one deal per region and product per month, 2024-01 .. 2026-10, plus one row with a bad amount.
REGIONS = ("East", "West")
PRODUCTS = ("Instruments", "Services")
MONTHS = [(year, month) for year in (2024, 2025, 2026) for month in range(1, 13) if (year, month) <= (2026, 10)]
GOOD_ROWS = len(MONTHS) * len(REGIONS) * len(PRODUCTS)
BAD_SALES_ROWS = 1


def sales_amount(i: int, region: str, product: str) -> float:
    """The amount of the ``i``-th month's deal: growing, with a region and product offset."""
    return 1000.0 + 10.0 * i + (250.0 if region == "East" else 0.0) + (100.0 if product == "Services" else 0.0)


def write_data(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = ["deal_id,date,amount,quantity,rep_id,customer_id,customer_name,product,region"]
    n = 0
    for i, (year, month) in enumerate(MONTHS):
        for r, region in enumerate(REGIONS):
            for product in PRODUCTS:
                n += 1
                rep = f"R00{r + 1}"
                lines.append(f"D{n:05d},{year}-{month:02d}-15,{sales_amount(i, region, product):.2f},1,{rep},"
                             f"C0000{r + 1},Customer {region},{product},{region}")
    lines.append(f"D{n + 1:05d},2026-03-15,=1+2,1,R001,C00001,Customer East,Instruments,East")
    (folder / "sales.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "reps.csv").write_text(
        "rep_id,name,team,region,role,hire_date,exit_date,fte\n"
        "R001,Rep East,East-1,East,rep,2020-01-01,,1.00\n"
        "R002,Rep West,West-1,West,rep,2020-01-01,,1.00\n", encoding="utf-8")


def notebook(*code: str, title: str = "Tiny analysis") -> nbformat.NotebookNode:
    """A notebook: a heading, the parameters cell (cell 1), then one code cell per argument."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    params = nbformat.v4.new_code_cell(PARAMETERS)
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell(f"# {title}"), params]
    nb.cells += [nbformat.v4.new_code_cell(c) for c in code]
    # Fixed cell ids: the source notebooks of two project copies are then identical too.
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i}"
    return nb


CHART_NOTEBOOK = notebook(
    OPEN_PLAN,
    "from planlib.report import charts\nfrom planlib.core import text\nimport altair as alt\n"
    "company = plan['history'][plan['history']['level'] == 'company']\n"
    "text.md('History holds {n} months.', n=len(company))",
    "alt.Chart(company).mark_line().encode(x='ds:T', y='y:Q').properties(title='Company sales')",
)
SECOND_NOTEBOOK = notebook(OPEN_PLAN, "plan['history'].loc[plan['history']['level'] == 'company', 'y'].sum()",
                           title="Second look")


def make_project(root: Path, notebooks: dict[str, nbformat.NotebookNode] | None = None) -> Path:
    """Write the project under ``root`` and return its config file."""
    notebooks = notebooks or {"a.ipynb": CHART_NOTEBOOK, "b.ipynb": SECOND_NOTEBOOK}
    write_data(root / "data")
    (root / "notebooks").mkdir(parents=True, exist_ok=True)
    for name, nb in notebooks.items():
        nbformat.write(nb, str(root / "notebooks" / name))
    listed = "\n".join(f"    - {name}" for name in notebooks)
    config = root / "plan.yaml"
    config.write_text(
        "company:\n  name: Tiny Co\n  currency: CNY\n  country: CN\n  display_unit: 1000\n  display_unit_label: k CNY\n"
        "fiscal:\n  year: 2027\n"
        "as_of: 2026-11-26\n"
        "data:\n  sales:\n    path: data/sales.csv\n  reps:\n    path: data/reps.csv\n"
        "report:\n  title: Tiny plan\n  output_dir: reports\n  notebooks_dir: notebooks\n"
        f"  notebooks:\n{listed}\n", encoding="utf-8")
    return config


def file_hashes(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder``, by path relative to it."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def restrict_to_data_stages(monkeypatch) -> None:
    """Let the runner see only the inputs and history stages.

    The bundle's own files (targets.csv, the forecast sheet, headline figures) then need no
    forecast of the tiny data, which keeps each run to seconds; the one full run of the suite
    (tests/sample_bundle.py) builds them from every stage.
    """
    import planlib.report.bundle
    import planlib.report.runner
    from planlib.core.graph import stages

    for module in (planlib.report.runner, planlib.report.bundle):
        monkeypatch.setattr(module, "stages",
                            lambda: {k: v for k, v in stages().items() if k in ("inputs", "history")})
