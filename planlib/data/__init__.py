"""Reading a company's data: readers (CSV, Excel, Parquet, SQL), parsers, validation with rejects,
the monthly panel (``unique_id, ds, y``) and the generated sample company.

May import ``core`` only.
"""
