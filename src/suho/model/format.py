"""The model format, defined once: the chat prompt around a query and the label tokens the guard emits.

    <bos><start_of_turn>user\n{query}<end_of_turn>\n<start_of_turn>model\n  LABEL [CATEGORY LANG reply <end_of_turn>]

LABEL is `<safe>` or `<unsafe>`; for unsafe queries a category token, a reply-language token and the safeguard reply
follow. The label tokens are reserved `<unusedN>` tokens of the Gemma vocabulary (single tokens, never produced by
ordinary text), so no vocabulary resize is needed; for tokenizers without them we add them as special tokens.

Detection is one forward pass over `prompt + <unsafe>`: the hidden state at the last prompt position scores
{safe, unsafe} (`LABEL_ROWS`); the one at `<unsafe>` scores the ten categories (`CATEGORY_ROWS`). Only those twelve
rows of the label head are used.
"""

from __future__ import annotations

from dataclasses import dataclass

from suho.policy.taxonomy import CATEGORY_IDS

SAFE = "safe"
UNSAFE = "unsafe"
LANGUAGES = ("ko", "en")
# detection reads a query of up to this many tokens whole (longer ones window by window); a model trained on longer
# queries records its own length as `whole_tokens` in suho_model.json
WINDOW_TOKENS = 224

# Reserved Gemma tokens <unused0> .. <unused13>, in this order. Changing the order breaks every trained adapter.
LABEL_TOKEN_NAMES: tuple[str, ...] = (SAFE, UNSAFE, *CATEGORY_IDS, *(f"lang_{lang}" for lang in LANGUAGES))
# The same order, as rows of the label head (and of the ids `TokenMap.all_ids` lists):
LABEL_ROWS = slice(0, 2)  # safe, unsafe: scored at the prompt's last token
CATEGORY_ROWS = slice(2, 2 + len(CATEGORY_IDS))  # the categories: scored at <unsafe>
LANGUAGE_ROWS = slice(CATEGORY_ROWS.stop, CATEGORY_ROWS.stop + len(LANGUAGES))  # prefilled, never scored


def _reserved(i: int) -> str:
    return f"<unused{i}>"


@dataclass(frozen=True)
class TokenMap:
    """Token ids of the label tokens for one tokenizer."""

    safe: int
    unsafe: int
    categories: tuple[int, ...]  # in CATEGORY_IDS order
    languages: dict[str, int]
    end_of_turn: int

    @property
    def all_ids(self) -> list[int]:
        return [self.safe, self.unsafe, *self.categories, *self.languages.values()]

    def category_token(self, category: str) -> int:
        return self.categories[CATEGORY_IDS.index(category)]


def token_strings(tokenizer) -> list[str]:
    """The strings used for the label tokens: reserved `<unusedN>` if the vocabulary has them, else `<suho_NAME>`."""
    reserved = [_reserved(i) for i in range(len(LABEL_TOKEN_NAMES))]
    unk = tokenizer.unk_token_id
    if all(tokenizer.convert_tokens_to_ids(t) not in (None, unk) for t in reserved):
        return reserved
    return [f"<suho_{name}>" for name in LABEL_TOKEN_NAMES]


def ensure_label_tokens(tokenizer, model=None) -> TokenMap:
    """Map (adding if needed, for non-Gemma bases) the label tokens; resizes the model's embeddings when it adds."""
    strings = token_strings(tokenizer)
    if strings[0].startswith("<suho_"):
        added = tokenizer.add_special_tokens({"additional_special_tokens": strings}, replace_extra_special_tokens=False)
        if added and model is not None:
            model.resize_token_embeddings(len(tokenizer))
    ids = [tokenizer.convert_tokens_to_ids(s) for s in strings]
    eot = tokenizer.convert_tokens_to_ids("<end_of_turn>")
    if eot in (None, tokenizer.unk_token_id):
        eot = tokenizer.eos_token_id
    safe, unsafe = ids[LABEL_ROWS]
    return TokenMap(
        safe=safe,
        unsafe=unsafe,
        categories=tuple(ids[CATEGORY_ROWS]),
        languages=dict(zip(LANGUAGES, ids[LANGUAGE_ROWS], strict=True)),
        end_of_turn=eot,
    )


PROMPT_PREFIX = "<start_of_turn>user\n"
PROMPT_SUFFIX = "<end_of_turn>\n<start_of_turn>model\n"


def prompt_ids(tokenizer, text: str, max_tokens: int | None = None) -> list[int]:
    """Token ids of the prompt for one query (BOS included). With `max_tokens`, a longer prompt keeps its first and
    last halves: the chat turn around the query, and the query's start and its end (where its intent usually is)."""
    ids = tokenizer(PROMPT_PREFIX + text + PROMPT_SUFFIX, add_special_tokens=False)["input_ids"]
    bos = tokenizer.bos_token_id
    ids = ([bos] if bos is not None else []) + ids
    if max_tokens is not None and len(ids) > max_tokens:
        half = max_tokens // 2
        ids = ids[:half] + ids[-(max_tokens - half) :]
    return ids


def prefix_ids(tokenizer) -> list[int]:
    """The ids every prompt starts with (BOS + the user-turn opening), when the tokenizer keeps them apart."""
    bos = tokenizer.bos_token_id
    return ([bos] if bos is not None else []) + tokenizer(PROMPT_PREFIX, add_special_tokens=False)["input_ids"]


def reply_ids(tokenizer, reply: str) -> list[int]:
    return tokenizer(reply, add_special_tokens=False)["input_ids"]


def reply_prefix(tmap: TokenMap, category: str, language: str) -> list[int]:
    """`<unsafe> <category> <language>`: what precedes a reply, in training targets and as the prefill that makes the
    model write one for any query."""
    return [tmap.unsafe, tmap.category_token(category), tmap.languages[language]]


def target_ids(
    tmap: TokenMap, tokenizer, label: str, category: str | None, language: str, reply: str | None
) -> list[int]:
    """What the model learns to emit after the prompt."""
    if label == SAFE:
        return [tmap.safe]
    if category is None:
        raise ValueError("an unsafe target needs a category")
    out = reply_prefix(tmap, category, language)
    if reply:
        out += reply_ids(tokenizer, reply) + [tmap.end_of_turn]
    return out
