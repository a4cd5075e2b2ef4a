"""The tokenizer for inference, straight from `tokenizer.json` with the `tokenizers` library.

`transformers.AutoTokenizer` gives the same ids but takes seconds to import and build (most of a cold start);
this wrapper offers the small part of its interface the guard uses, and a test checks it encodes and decodes every
dev text exactly as `AutoTokenizer` does.
"""

from __future__ import annotations

import json
from pathlib import Path


def _token(value) -> str | None:
    if isinstance(value, dict):  # {"content": "<bos>", ...} in some tokenizer_config.json files
        return value.get("content")
    return value


class LeanTokenizer:
    def __init__(self, path: Path):
        from tokenizers import Tokenizer

        path = Path(path)
        if not (path / "tokenizer.json").is_file():
            raise FileNotFoundError(f"{path} has no tokenizer.json")
        self._tk = Tokenizer.from_file(str(path / "tokenizer.json"))
        cfg_file = path / "tokenizer_config.json"
        cfg = json.loads(cfg_file.read_text(encoding="utf-8")) if cfg_file.is_file() else {}
        for name in ("bos", "eos", "unk", "pad"):
            tok = _token(cfg.get(f"{name}_token"))
            setattr(self, f"{name}_token", tok)
            setattr(self, f"{name}_token_id", self._tk.token_to_id(tok) if tok else None)

    def __len__(self) -> int:
        return self._tk.get_vocab_size(with_added_tokens=True)

    def __call__(self, text: str, add_special_tokens: bool = True, return_offsets_mapping: bool = False) -> dict:
        enc = self._tk.encode(text, add_special_tokens=add_special_tokens)
        out = {"input_ids": list(enc.ids)}
        if return_offsets_mapping:
            out["offset_mapping"] = list(enc.offsets)
        return out

    def convert_tokens_to_ids(self, token: str) -> int | None:
        i = self._tk.token_to_id(token)
        return self.unk_token_id if i is None else i

    def convert_ids_to_tokens(self, ids: list[int]) -> list[str]:
        return [self._tk.id_to_token(i) for i in ids]

    def decode(self, ids: list[int], skip_special_tokens: bool = False) -> str:
        return self._tk.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def add_special_tokens(self, *args, **kwargs):
        raise NotImplementedError("LeanTokenizer is for Gemma bases, whose label tokens are reserved <unusedN> tokens")
