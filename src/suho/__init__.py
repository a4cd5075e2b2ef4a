"""suho (수호): a small-LM safety guard for LLM services — harmful-query detection + safeguard replies."""

from suho.data.schema import Label
from suho.guard import CheckResult, Guard, Reply, Verdict, load_guard
from suho.policy import Action, Category, Policy, load_policy

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
