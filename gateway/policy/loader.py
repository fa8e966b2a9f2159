"""Load `policies/` (YAML) into a validated, frozen `PolicySet`.

Layout::

    purposes.yaml          purposes: {<name>: {description, basis, ...}}
    datasets/<name>.yaml   one dataset per file; `name` equals the file stem
    audiences.yaml         audiences: {<name>: {datasets, purpose, k_min, ...}}
    destinations.yaml      optional; destinations: {<client name>: {k_min, id_format}}
    pii.yaml               optional; pii: {languages, models, entities, operators, ...}
    tcf.yaml               optional; tcf: {vendor_id} (required once a purpose
                           lists tcf_purposes)

Every error is a `PolicyError` whose message reads `<file>:<line>: <field>: <why>`.
Lines come from the composed YAML node tree, so they point at the key at fault
(or at its closest parent when the key is missing).
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from gateway.errors import PolicyError
from gateway.policy.constraints import Loc, PolicyConstraintError
from gateway.policy.models import PolicySet

PURPOSES = "purposes.yaml"
AUDIENCES = "audiences.yaml"
DESTINATIONS = "destinations.yaml"
PII = "pii.yaml"
TCF = "tcf.yaml"
DATASETS = "datasets"
_MERGE = "tag:yaml.org,2002:merge"


@dataclass(frozen=True, slots=True)
class _Document:
    """One parsed policy file: where it is, its bytes, its node tree and data."""

    rel: str
    raw: bytes
    node: yaml.Node | None
    data: Any


# Which file (and where in it) holds each top-level entry of the policy tree,
# keyed "purposes/<name>", "datasets/<name>", "audiences/<name>",
# "destinations/<name>", or "pii" and "tcf" for the single PII and TCF
# policies.
_Sources = dict[str, tuple[_Document, Loc]]


def load_policies(directory: Path) -> PolicySet:
    """Load and validate every policy file under a directory.

    Args:
        directory: The policy directory (holding purposes.yaml, datasets/,
            audiences.yaml, and optionally destinations.yaml and pii.yaml).

    Returns:
        The validated policies; `version` is "sha256:" plus the hex digest over
        the relative path and bytes of every file loaded.

    Raises:
        PolicyError: A file or the directory is missing, a file is not valid
            YAML, or a policy is invalid; the message names file, line and field.
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise PolicyError(f"{directory}: policy directory not found")
    purposes = _parse(directory, PURPOSES)
    audiences = _parse(directory, AUDIENCES)
    # Optional: without it, every destination gets the audience's floor and
    # the default id format.
    destinations = _parse_optional(directory, DESTINATIONS)
    # Optional: without it, the PII policy's defaults apply.
    pii = _parse_optional(directory, PII)
    # Optional: needed only when a purpose relies on TC strings.
    tcf = _parse_optional(directory, TCF)
    datasets = [_parse(directory, rel) for rel in _dataset_files(directory)]
    sources: _Sources = {}
    tree: dict[str, Any] = {
        "purposes": _named_entries(purposes, "purposes", sources),
        "audiences": _named_entries(audiences, "audiences", sources),
        "datasets": {},
    }
    if destinations is not None:
        tree["destinations"] = _named_entries(destinations, "destinations", sources)
    if pii is not None:
        tree["pii"] = _top_mapping(pii, "pii")
        sources["pii"] = (pii, ("pii",))
    if tcf is not None:
        tree["tcf"] = _top_mapping(tcf, "tcf")
        sources["tcf"] = (tcf, ("tcf",))
    for doc in datasets:
        stem = Path(doc.rel).stem
        tree["datasets"][stem] = _dataset_entry(doc, stem)
        sources[f"datasets/{stem}"] = (doc, ())
    optional = [doc for doc in (destinations, pii, tcf) if doc is not None]
    tree["version"] = _version([purposes, audiences, *datasets, *optional])
    try:
        return PolicySet.model_validate(tree)
    except ValidationError as exc:
        messages = [msg for err in exc.errors() for msg in _describe(err, sources)]
        raise PolicyError(_summary(messages), errors=tuple(messages)) from None


def _dataset_files(directory: Path) -> list[str]:
    folder = directory / DATASETS
    if not folder.is_dir():
        raise PolicyError(f"{DATASETS}/: directory not found in {directory}")
    strays = sorted(p.name for p in folder.glob("*.yml"))
    if strays:
        raise PolicyError(f"{DATASETS}/{strays[0]}: rename to .yaml (else ignored)")
    return sorted(f"{DATASETS}/{p.name}" for p in folder.glob("*.yaml"))


def _parse(directory: Path, rel: str) -> _Document:
    path = directory / rel
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PolicyError(f"{rel}: file not found in {directory}") from None
    except OSError as exc:
        raise PolicyError(f"{rel}: cannot read ({exc.strerror})") from None
    loader = yaml.SafeLoader(raw)
    try:
        node = loader.get_single_node()
        if node is not None:
            _reject_duplicate_keys(rel, node)
        # Constructing flattens merge keys in place, so check duplicates first.
        data = loader.construct_document(node) if node is not None else None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or exc.context or "invalid YAML"
        raise PolicyError(f"{rel}:{line}: YAML syntax error: {problem}") from None
    except yaml.YAMLError as exc:
        raise PolicyError(f"{rel}: YAML error: {type(exc).__name__}") from None
    finally:
        loader.dispose()
    return _Document(rel, raw, node, data)


def _parse_optional(directory: Path, rel: str) -> _Document | None:
    return _parse(directory, rel) if (directory / rel).is_file() else None


def _reject_duplicate_keys(rel: str, root: yaml.Node) -> None:
    # safe_load keeps the last of two equal keys without a word; in a reviewed
    # policy that hides an edit, so it is an error.
    stack, seen_nodes = [root], set()
    while stack:
        node = stack.pop()
        if id(node) in seen_nodes:  # aliases may share (or loop back to) nodes
            continue
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            keys: dict[tuple[str, str], int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode) and key.tag != _MERGE:
                    line = key.start_mark.line + 1
                    first = keys.setdefault((key.tag, key.value), line)
                    if first != line:
                        raise PolicyError(
                            f"{rel}:{line}: {key.value}: duplicate key "
                            f"(first on line {first})"
                        )
                stack += [key, value]
        elif isinstance(node, yaml.SequenceNode):
            stack += node.value


def _top_mapping(doc: _Document, key: str) -> dict[Any, Any]:
    data = doc.data
    if not isinstance(data, dict) or set(data) != {key}:
        raise PolicyError(f"{doc.rel}:1: (top): expected exactly one key '{key}'")
    entries = data[key]
    if entries is None:
        return {}
    if not isinstance(entries, dict):
        line = _locate(doc.node, (key,))
        raise PolicyError(f"{doc.rel}:{line}: {key}: expected a mapping name -> entry")
    return entries


def _named_entries(doc: _Document, key: str, sources: _Sources) -> dict[Any, Any]:
    """Entries keyed by name, with the name put into each entry."""
    entries: dict[Any, Any] = {}
    for name, entry in _top_mapping(doc, key).items():
        if isinstance(entry, dict) and "name" in entry:
            line = _locate(doc.node, (key, name, "name"))
            raise PolicyError(f"{doc.rel}:{line}: {key}.{name}.name: given by the key")
        entries[name] = {"name": name, **entry} if isinstance(entry, dict) else entry
        sources[f"{key}/{name}"] = (doc, (key, name))
    return entries


def _dataset_entry(doc: _Document, stem: str) -> Any:
    data = doc.data
    if isinstance(data, dict) and data.get("name", stem) != stem:
        line = _locate(doc.node, ("name",))
        raise PolicyError(f"{doc.rel}:{line}: name: must equal the file stem '{stem}'")
    if data is None:
        raise PolicyError(f"{doc.rel}:1: (top): empty file")
    return data


def _version(docs: list[_Document]) -> str:
    digest = hashlib.sha256()
    for doc in sorted(docs, key=lambda d: d.rel):
        # Length-prefixed, so no two different file sets hash the same bytes.
        for part in (doc.rel.encode(), doc.raw):
            digest.update(len(part).to_bytes(8, "big") + part)
    return f"sha256:{digest.hexdigest()}"


def _describe(err: ErrorDetails, sources: _Sources) -> list[str]:
    """Turn one pydantic error into `file:line: field: why` messages."""
    ctx_error = err.get("ctx", {}).get("error")
    if isinstance(ctx_error, PolicyConstraintError):
        loc, problems = err["loc"], ctx_error.problems
        return [_message(loc + inner, msg, sources) for inner, msg in problems]
    msg = err["msg"].removeprefix("Value error, ")
    return [_message(err["loc"], msg, sources)]


def _message(loc: Loc, msg: str, sources: _Sources) -> str:
    # Named entries are keyed by two parts ("purposes/<name>"), a single
    # policy such as "pii" by one.
    for depth in (2, 1):
        if len(loc) < depth:
            continue
        source = sources.get("/".join(map(str, loc[:depth])))
        if source is not None:
            doc, prefix = source
            path = prefix + loc[depth:]
            return f"{doc.rel}:{_locate(doc.node, path)}: {_dotted(path)}: {msg}"
    return f"{_dotted(loc)}: {msg}"


def _dotted(loc: Loc) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        elif part != "[key]":
            text += f".{part}" if text else str(part)
    return text or "(top)"


def _locate(root: yaml.Node | None, path: Loc) -> int:
    """Return the 1-based line of the deepest node on a path (the key, in mappings)."""
    node, line = root, 1 if root is None else root.start_mark.line + 1
    for part in path:
        if isinstance(node, yaml.MappingNode):
            found = next(
                (
                    (k, v)
                    for k, v in node.value
                    if isinstance(k, yaml.ScalarNode) and k.value == str(part)
                ),
                None,
            )
            if found is None:
                break
            line, node = found[0].start_mark.line + 1, found[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
            if not 0 <= part < len(node.value):
                break
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _summary(messages: list[str]) -> str:
    if len(messages) == 1:
        return messages[0]
    return f"{messages[0]} (and {len(messages) - 1} more)"
