"""The query normaliser: undoes Korean and English disguises before the model reads a query.

`normalize_query` is the entry point (`normalize.py` says which disguise each rule undoes); `spacing`, `romaja`,
`keyboard`, `leet` and `hangul` are the tables and readers it uses, `lang` picks a reply language.
"""

from suho.text.lang import detect_language
from suho.text.normalize import load_tables, normalize_query, text_problem

__all__ = ["detect_language", "load_tables", "normalize_query", "text_problem"]
