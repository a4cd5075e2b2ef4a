"""Baseline: any Llama-Guard-style HF model given a local path, with its own chat template and output format."""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from pathlib import Path

import torch

from suho.eval.detector import first_token, one_hot, verdict
from suho.policy import Policy
from suho.policy.verdict import Verdict

# -- any Llama-Guard-style model

# Hazard names in Llama Guard 1-3 templates -> suho category; first match wins, anything else is crime_advice.
_HAZARDS = (
    ("child", "sexual_minors"),
    ("sex", "sexual_minors"),
    ("suicide", "self_harm"),
    ("self-harm", "self_harm"),
    ("self harm", "self_harm"),
    ("privacy", "privacy_violation"),
    ("intellectual property", "copyright_infringement"),
    ("hate", "discrimination_hate"),
    ("defamation", "insult_offensive"),
    ("election", "sensitive_biased"),
    ("specialized advice", "uncertain_prediction"),
)
_CODE_RE = re.compile(r"\b([SO]\d{1,2})\s*:\s*([^\n.]+)")


def hazard_codes(prompt: str) -> dict[str, str]:
    """Code -> suho category, read from the hazard list a Llama-Guard-style template writes into its prompt."""
    out = {}
    for code, hazard in _CODE_RE.findall(prompt):
        low = hazard.lower()
        out.setdefault(code, next((c for key, c in _HAZARDS if key in low), "crime_advice"))
    return out


def parse_llamaguard(reply: str, codes: dict[str, str]) -> tuple[bool, list[str]] | None:
    """("unsafe"?, suho categories) from "safe" / "unsafe\\nS1,S10"; None when the reply is neither."""
    m = re.match(r"\s*(unsafe|safe)\b", reply, re.IGNORECASE)
    if not m:
        return None
    if m.group(1).lower() == "safe":
        return False, []
    return True, [codes.get(code, "crime_advice") for code in re.findall(r"\b[SO]\d{1,2}\b", reply[m.end() :])]


class LlamaGuardClassifier:
    """A local Llama-Guard-style model: its own chat template, a short greedy answer, parsed.

    P(unsafe) is the softmax of the "safe"/"unsafe" logits at the step that emitted the verdict word, so the PR
    curve has a score; the category codes are mapped through the hazard list in the model's own prompt.
    """

    def __init__(self, path: str | Path, policy: Policy, *, batch_size: int = 4, max_new_tokens: int = 20):
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.path = Path(path).expanduser()
        if not self.path.is_dir():
            raise FileNotFoundError(f"llamaguard: {self.path} is not a local model directory")
        self.name, self.policy = f"llamaguard:{self.path.name}", policy
        self.tokenizer = AutoTokenizer.from_pretrained(self.path)
        if not getattr(self.tokenizer, "chat_template", None):
            raise ValueError(f"llamaguard: {self.path} has no chat template (a Llama-Guard-style model brings its own)")
        self.tokenizer.padding_side = "left"
        self.model = AutoModelForCausalLM.from_pretrained(self.path, dtype="auto").eval()
        self.batch_size, self.max_new_tokens = batch_size, max_new_tokens
        self.codes = hazard_codes(self.render("x"))
        self.verdict_ids = (first_token(self.tokenizer, "safe"), first_token(self.tokenizer, "unsafe"))
        self.parse_errors: list[dict] = []

    def render(self, text: str) -> str:
        """The model's own prompt for a user message (string content, else the list-of-parts form some use)."""
        for content in (text, [{"type": "text", "text": text}]):
            conv = [{"role": "user", "content": content}]
            try:
                out = self.tokenizer.apply_chat_template(conv, tokenize=False, add_generation_prompt=True)
            except Exception:  # noqa: BLE001 - templates raise whatever jinja raises for the other content form
                continue
            if text in out:
                return out
        raise ValueError(f"{self.name}: the chat template does not render the user's message")

    def generate(self, texts: Sequence[str]) -> list[tuple[str, float | None, float]]:
        """(reply, P(unsafe) at the verdict step or None, seconds per item) per text."""
        tok, out = self.tokenizer, []
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        for b in range(0, len(texts), self.batch_size):
            chunk = list(texts[b : b + self.batch_size])
            t0 = time.perf_counter()
            enc = tok([self.render(t) for t in chunk], return_tensors="pt", padding=True, add_special_tokens=False)
            with torch.inference_mode():
                gen = self.model.generate(
                    **enc, max_new_tokens=self.max_new_tokens, do_sample=False, pad_token_id=pad,
                    output_logits=True, return_dict_in_generate=True,
                )  # fmt: skip
            new = gen.sequences[:, enc["input_ids"].shape[1] :]
            dt = (time.perf_counter() - t0) / len(chunk)
            for r in range(len(chunk)):
                steps = [t for t, tid in enumerate(new[r].tolist()) if tid in self.verdict_ids]
                p = None
                if steps:
                    logits = gen.logits[steps[0]][r, list(self.verdict_ids)].float()
                    p = float(logits.softmax(-1)[1])
                out.append((tok.decode(new[r], skip_special_tokens=True), p, dt))
        return out

    def detect(self, texts: Sequence[str]) -> list[Verdict]:
        out = []
        for text, (reply, p, secs) in zip(texts, self.generate(texts)):
            parsed = parse_llamaguard(reply, self.codes)
            if parsed is None:  # not flagged, whatever the verdict-step logits said
                self.parse_errors.append({"text": text, "reply": reply})
                parsed, p = (False, []), None
            unsafe, cats = parsed
            out.append(verdict(text, float(unsafe) if p is None else p, one_hot(cats), self.policy, secs))
        return out
