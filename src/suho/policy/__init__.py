"""Taxonomy and per-culture policy packs (YAML package data) with their loader and validator."""

from suho.policy.pack import Action, CategoryRule, Policy, PolicyError, available_policies, load_policy
from suho.policy.taxonomy import CATEGORY_IDS, Category, CategoryInfo, Group, Label, taxonomy

__all__ = [
    "Action",
    "CATEGORY_IDS",
    "Category",
    "CategoryInfo",
    "CategoryRule",
    "Group",
    "Label",
    "Policy",
    "PolicyError",
    "available_policies",
    "load_policy",
    "taxonomy",
]
