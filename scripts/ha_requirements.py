"""Print the requirements Home Assistant would install at start for the development configuration.

Run with the development environment's Python: it reads that Home Assistant's own manifests, so
scripts/setup can install everything up front (under HA's constraints) and the instance starts offline.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

from homeassistant import bootstrap
import homeassistant.components


def configured_domains(configuration: Path) -> set[str]:
    """Return the top-level integration keys of configuration.yaml (no YAML tags needed for that)."""
    domains = set()
    for line in configuration.read_text(encoding="utf-8").splitlines():
        if line and not line[0].isspace() and not line.startswith("#") and ":" in line:
            domains.add(line.split(":", 1)[0].strip())
    return domains - {"homeassistant", "default_config"}


def requirements(domains: set[str]) -> set[str]:
    """Return the requirements of `domains` and of everything they depend on."""
    components = Path(homeassistant.components.__path__[0])
    seen: set[str] = set()
    found: set[str] = set()
    pending = list(domains)
    while pending:
        domain = pending.pop()
        manifest_path = components / domain / "manifest.json"
        if domain in seen or not manifest_path.exists():
            continue
        seen.add(domain)
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        found.update(manifest.get("requirements", []))
        # Home Assistant installs the requirements of after_dependencies too (analytics imports hassio's client).
        pending.extend(manifest.get("dependencies", []) + manifest.get("after_dependencies", []))
    return found


# What onboarding adds when it finishes (homeassistant/components/onboarding/views.py keeps this list in its code):
# without their requirements, a fresh instance logs an error for each.
ONBOARDING_INTEGRATIONS = {"google_translate", "met", "radio_browser", "shopping_list"}
# What scripts/ha_dev_home.py sets up as config entries before the first start (the simulator's P1 meter).
DEVELOPMENT_ENTRIES = {"dsmr"}


def main() -> None:
    """Print one requirement a line."""
    domains = (
        bootstrap.CORE_INTEGRATIONS
        | bootstrap.DEFAULT_INTEGRATIONS
        | bootstrap.FRONTEND_INTEGRATIONS
        | ONBOARDING_INTEGRATIONS
        | DEVELOPMENT_ENTRIES
        | configured_domains(Path(sys.argv[1]))
    )
    print("\n".join(sorted(requirements(domains))))


if __name__ == "__main__":
    main()
