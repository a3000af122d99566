"""Reading a sweep's settings: Hydra override strings, the saved configs of its jobs and
of the multirun, and override values formatted for a table."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

__all__ = ["parse_overrides", "override_key", "split_override", "is_hydra_key", "load_yaml",
           "select", "sweep_config", "is_number", "format_value"]

log = logging.getLogger(__name__)


def _parser():
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create()


def parse_overrides(overrides: list[str]) -> list[Any]:
    """Hydra ``Override`` objects of override strings (unparsable ones are skipped)."""
    parser, out = _parser(), []
    for text in overrides:
        try:
            out.append(parser.parse_override(str(text)))
        except Exception:  # a malformed line must not hide the other trials
            log.warning("cannot parse the override %r", text)
    return out


def override_key(override: Any) -> str:
    """The override's key as written before ``=`` (``model.hidden``, ``+x``, ``data@y``)."""
    return str(override.get_key_element())


def split_override(text: str) -> tuple[str, str]:
    """``key=value`` as ``(key, value)``."""
    key, _, value = text.partition("=")
    return key, value


def is_hydra_key(key: str) -> bool:
    """Whether an override key sets Hydra itself (``hydra.…``, ``hydra/…``)."""
    bare = key.lstrip("+~")
    return bare == "hydra" or bare.startswith(("hydra.", "hydra/"))


def load_yaml(path: Path) -> Any:
    """The YAML file as an OmegaConf object, or None when it cannot be read."""
    try:
        return OmegaConf.load(path)
    except Exception:
        return None


def select(cfg: Any, key: str) -> Any:
    """``cfg``'s value at the dotted ``key``, or None (no config, no key, unresolvable)."""
    if cfg is None:
        return None
    try:
        return OmegaConf.select(cfg, key, throw_on_resolution_failure=False)
    except Exception:
        return None


def sweep_config(sweep_dir: Path) -> DictConfig | None:
    """The multirun's config (``multirun.yaml`` in the sweep directory), or None."""
    cfg = load_yaml(sweep_dir / "multirun.yaml")
    return cfg if isinstance(cfg, DictConfig) else None


def is_number(text: str) -> bool:
    """Whether an override value is a finite number."""
    try:
        float(text)
    except ValueError:
        return False
    return text.strip().lower() not in ("nan", "inf", "-inf", "+inf")


def format_value(text: str) -> str:
    """An override value for the table: floats to 4 significant digits, the rest as is."""
    if is_number(text) and not text.strip().lstrip("+-").isdigit():
        return f"{float(text):.4g}"
    return text
