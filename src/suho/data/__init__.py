"""Record schema, dataset builders for public corpora, splits, dedup and leakage checks."""

from suho.data.schema import Label, Record, RecordError, read_jsonl, write_jsonl

__all__ = ["Label", "Record", "RecordError", "read_jsonl", "write_jsonl"]
