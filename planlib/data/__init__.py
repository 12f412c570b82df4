"""Reading a company's data: readers (CSV, Excel, Parquet, SQL), parsers, validation with rejects,
the monthly panel (``unique_id, ds, y``) and the generated sample company.

May import ``core`` only.
"""

from planlib.data.bundle import (PlanOfRecord, plan_bundle_fingerprint, read_plan_bundle)
from planlib.data.checks import (check_as_of_reach, discontinued, negative_months, roster_note)
from planlib.data.load import (Column, Inputs, LEVELS, SCHEMAS, TableSchema, customer_table, input_fingerprints,
                               load_inputs, monthly_panel)
from planlib.data.panel import (PANEL_COLUMNS)

__all__ = [
    "Column", "Inputs", "LEVELS", "PANEL_COLUMNS", "PlanOfRecord", "SCHEMAS", "TableSchema", "check_as_of_reach",
    "customer_table", "discontinued", "input_fingerprints", "load_inputs", "monthly_panel", "negative_months",
    "plan_bundle_fingerprint", "read_plan_bundle", "roster_note",
]
