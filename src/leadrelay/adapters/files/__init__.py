"""Input files: CSV (any delimiter, UTF-8 or CP932), JSONL and Parquet streamed as numbered rows
(:mod:`.sources`), column mappings from CRM and MA exports to leadrelay records (:mod:`.mappings`) and
the rejects file (:mod:`.rejects`). No database code here."""
