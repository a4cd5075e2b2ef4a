"""suho (수호): a small-LM safety guard for LLM services — harmful-query detection + safeguard replies."""

from suho.guard import Guard, load_guard
from suho.policy import Action, Category, Label, Policy, load_policy
from suho.policy.verdict import CheckResult, Reply, Verdict

__version__ = "0.1.0"
__all__ = [
    "Action",
    "Category",
    "CheckResult",
    "Guard",
    "Label",
    "Policy",
    "Reply",
    "Verdict",
    "load_guard",
    "load_policy",
]
