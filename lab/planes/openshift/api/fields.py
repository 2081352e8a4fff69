"""Typed reads of manifest fields, as the API server decodes and validates them (pure): a wrong type or an
out-of-range value is one BadInput line, never a coercion (YAML's `true` is not 1, 8080.9 is not 8080)."""

from __future__ import annotations

import re
from typing import Dict, List, Tuple, Union

from lab.errors import BadInput

_IANA_SVC_NAME = re.compile(r"[a-z0-9]([a-z0-9-]*[a-z0-9])?")
# Docker's reference grammar (distribution/reference): [domain[:port]/]path[:tag]
_DOMAIN = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*(?::[0-9]+)?"
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]*)[a-z0-9]+)*"
_PATH = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{{0,127}})?")
_ANY_CASE_PATH = re.compile(_PATH.pattern.replace("a-z0-9]+", "a-zA-Z0-9]+"))


def shown(value: object, limit: int = 60) -> str:
    """A value as a refusal quotes it: its repr (one line: newlines escaped), cut to `limit` characters."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def obj(value: object, allowed: set, where: str) -> dict:
    """An object with only the fields the lab knows (anything else is refused, as `oc create` would)."""
    if not isinstance(value, dict):
        raise BadInput(f"{where} must be an object, not {shown(value)}")
    unknown = sorted((k for k in value if k not in allowed), key=str)
    if unknown:
        owner, sep, field = where.rpartition(": ")  # `Pod default/x: unknown field spec.hostNetwork`
        raise BadInput(f"{owner}{sep}unknown field {field}.{shown(unknown[0]).strip(chr(39))} "
                       f"(the lab knows: {', '.join(sorted(allowed))})")
    return value


def array(value: object, where: str) -> list:
    """A list (absent or null: empty)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadInput(f"{where} must be a list, not {shown(value)}")
    return value


def integer(value: object, where: str, low: int = 1, high: int = 65535) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(f"{where} must be an integer {low}..{high}, not {shown(value)}")
    return value


def string(value: object, where: str, default: str = "") -> str:
    """A string (absent or null: the default)."""
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadInput(f"{where} must be a string, not {shown(value)}")
    return value


def choice(value: object, where: str, allowed: Tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    if value not in allowed:
        raise BadInput(f"{where} must be one of {', '.join(allowed)}, not {shown(value)}")
    return str(value)


def string_map(value: object, where: str) -> Dict[str, str]:
    """metadata.annotations: string keys to string values."""
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise BadInput(f"{where} must be a map of strings to strings, not {shown(value)}")
    return value


def port_name(value: object, where: str) -> str:
    """IsValidPortName (IANA_SVC_NAME): at most 15 characters, a-z, 0-9 and '-', at least one letter, no '--'."""
    if not isinstance(value, str) or not 1 <= len(value) <= 15 or not _IANA_SVC_NAME.fullmatch(value) \
            or "--" in value or not re.search("[a-z]", value):
        raise BadInput(f"{where} {shown(value)} is invalid: a port name has 1 to 15 characters a-z, 0-9 and '-', "
                       "at least one letter")
    return value


def port_or_name(value: object, where: str) -> Union[int, str]:
    """An IntOrString port: a number 1..65535 or a port name (a number written as a string is a number)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return integer(int(value), where)
    if isinstance(value, str):
        return port_name(value, where)
    return integer(value, where)


def words(value: object, where: str) -> Tuple[str, ...]:
    """command/args: a list of strings (numbers are written as YAML reads them)."""
    items: List[object] = value if isinstance(value, list) else [None]
    if value is None:
        return ()
    if not all(isinstance(w, (str, int, float)) and not isinstance(w, bool) for w in items):
        raise BadInput(f"{where} must be a list of strings, not {shown(value)}")
    return tuple(str(w) for w in items)


def image(value: object, where: str) -> str:
    """An image name Docker takes (the lab tags its local image under it); absent: the lab's own."""
    name = string(value, where)
    if not name:
        return ""
    if "@" in name:
        raise BadInput(f"{where} {shown(name)}: the lab makes its images locally and takes name[:tag], not a digest")
    first, slash, rest = name.partition("/")
    # the first component is a registry only with a '.' or ':' in it, or as localhost (splitDockerDomain)
    domain, path = (first, rest) if slash and ("." in first or ":" in first or first == "localhost") else ("", name)
    if len(name) > 255 or (domain and not re.fullmatch(_DOMAIN, domain)) or not _PATH.fullmatch(path):
        lower = not (domain and not re.fullmatch(_DOMAIN, domain)) and _ANY_CASE_PATH.fullmatch(path)
        raise BadInput(f"{where}: couldn't parse image reference {shown(name)}: invalid reference format"
                       + (": repository name must be lowercase" if lower else ""))
    return name
