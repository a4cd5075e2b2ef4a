"""Client API keys: `SUHO_API_KEY` (any policy) and the entries of `keys_file`, each with a name and its own policy.

```yaml
keys:
  - name: mobile-app           # what logs and errors call the key (never the key itself)
    key_env: SUHO_KEY_MOBILE   # the key, read from this environment variable ...
    policy: ko-KR              # the policy its requests get unless they name one
  - name: partner-us
    key: sk-partner-0a1b2c     # ... or written here (keep such a file private)
    policy: en-US
    fixed_policy: true         # its requests may not name another policy (403)
```

A request's bearer token is compared with every key in constant time; the server needs no token when it has no key.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import yaml

_FIELDS = ("name", "key", "key_env", "policy", "fixed_policy")


@dataclass(frozen=True)
class ClientKey:
    name: str
    key: str = field(repr=False)
    policy: str | None = None  # None: the server's default, or whatever the request names
    fixed_policy: bool = False  # the request may not name another policy


def client_keys(api_key: str, keys_file: str, policies: set[str]) -> list[ClientKey]:
    """The keys the server accepts: `api_key` (when set) and `keys_file`'s entries, whose policies must be in
    `policies` (the names the server loads). Raises ValueError listing every problem, each naming its entry."""
    keys = [ClientKey("SUHO_API_KEY", api_key)] if api_key else []
    if keys_file:
        keys += read_keys_file(keys_file, policies)
    seen: dict[str, str] = {}
    for k in keys:
        if k.key in seen:
            raise ValueError(f"{keys_file}: keys {seen[k.key]!r} and {k.name!r} are the same key")
        seen[k.key] = k.name
    return keys


def read_keys_file(path: str, policies: set[str]) -> list[ClientKey]:
    file = Path(path).expanduser()
    if not file.is_file():
        raise ValueError(f"keys_file: no file {path!r}")
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not valid YAML in UTF-8: {exc}") from exc
    entries = data.get("keys") if isinstance(data, dict) else None
    if not isinstance(entries, list) or not entries:
        raise ValueError(f"{path}: must be a mapping with a non-empty list `keys` (see docs/gateway.md)")
    errors: list[str] = []
    out: list[ClientKey] = []
    names: set[str] = set()
    for i, entry in enumerate(entries):
        where = f"keys[{i}]"
        if not isinstance(entry, dict):
            errors.append(f"{where}: must be a mapping with name, key or key_env, and policy")
            continue
        errors += [f"{where}.{k}: unknown field (one of {', '.join(_FIELDS)})" for k in entry if k not in _FIELDS]
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append(f"{where}.name: required non-empty string")
        elif name in names:
            errors.append(f"{where}.name: {name!r} is used twice")
        else:
            names.add(name)
        key = _key(entry, where, errors)
        policy = entry.get("policy")
        if policy is not None and policy not in policies:
            errors.append(
                f"{where}.policy: {policy!r} is not a policy this server loads ({', '.join(sorted(policies))})"
            )
        fixed = entry.get("fixed_policy", False)
        if not isinstance(fixed, bool):
            errors.append(f"{where}.fixed_policy: must be true or false, got {fixed!r}")
        elif fixed and policy is None:
            errors.append(f"{where}.fixed_policy: needs a policy to fix")
        if key is not None and isinstance(name, str):
            out.append(ClientKey(name, key, policy, fixed))
    if errors:
        raise ValueError(f"invalid keys file {path}:\n" + "\n".join(f"  - {e}" for e in errors))
    return out


def _key(entry: dict, where: str, errors: list[str]) -> str | None:
    if ("key" in entry) == ("key_env" in entry):
        errors.append(f"{where}: give exactly one of key and key_env")
        return None
    if "key_env" in entry:
        var = entry["key_env"]
        key = os.environ.get(var, "") if isinstance(var, str) else ""
        if not key.strip():
            errors.append(f"{where}.key_env: environment variable {var!r} is not set or empty")
            return None
        return key.strip()
    key = entry["key"]
    if not isinstance(key, str) or len(key.strip()) < 8:
        errors.append(f"{where}.key: must be a string of at least 8 characters")
        return None
    return key.strip()


def match_key(keys: list[ClientKey], token: str) -> ClientKey | None:
    """The key `token` is, comparing with every key (constant time each), or None."""
    found = None
    for k in keys:
        if secrets.compare_digest(token.encode(), k.key.encode()):
            found = k
    return found
