"""Pin Home Assistant's HTTP server to 127.0.0.1 and one port, in its HTTP settings store (HA 2026.11 and later).

Home Assistant 2026.11 keeps the HTTP server settings in .storage/http and edits them in the UI. It imports an
`http:` YAML section only once, as a trial: unless someone confirms it in a dialog within 5 minutes, Home Assistant
restarts with its defaults (all interfaces, port 8123). The development instance and the browser test must listen
on 127.0.0.1 only, from their first start and without that dialog, so their configuration.yaml has no `http:` and
scripts/develop and scripts/test-e2e run this before Home Assistant starts. The settings go through Home
Assistant's own schema, so they are complete for the installed version.

Run with the development environment's Python: ha_http_store.py CONFIG_DIR PORT
"""

from __future__ import annotations

import json
from pathlib import Path
import sys
from typing import Any

from homeassistant.components.http import config as http_config
from homeassistant.util import dt as dt_util

HOST = "127.0.0.1"
META_KEYS = (http_config.HTTP_CONFIG_CREATED_AT, http_config.HTTP_CONFIG_ERROR, http_config.HTTP_CONFIG_ERROR_MESSAGE)


def wanted_settings(port: int) -> dict[str, Any]:
    """Return the complete HTTP settings for 127.0.0.1:`port`, as JSON values."""
    settings = http_config.HTTP_STORAGE_SCHEMA({"server_host": [HOST], "server_port": port})
    return json.loads(json.dumps(settings))


def is_pinned(store: Path, settings: dict[str, Any]) -> bool:
    """Whether the store already holds exactly these settings, with nothing pending and YAML migrated."""
    if not store.exists():
        return False
    data = json.loads(store.read_text(encoding="utf-8")).get("data", {})
    stable = {key: value for key, value in data.get("stable", {}).items() if key not in META_KEYS}
    return stable == settings and data.get("pending") is None and data.get("yaml_migration_done") is True


def main() -> None:
    """Write the store when it does not pin 127.0.0.1:PORT already."""
    config_dir, port = Path(sys.argv[1]), int(sys.argv[2])
    store = config_dir / ".storage" / http_config.STORAGE_KEY
    settings = wanted_settings(port)
    if is_pinned(store, settings):
        return
    store.parent.mkdir(parents=True, exist_ok=True)
    stable = {**settings, http_config.HTTP_CONFIG_CREATED_AT: dt_util.utcnow().isoformat()}
    stable |= {http_config.HTTP_CONFIG_ERROR: None, http_config.HTTP_CONFIG_ERROR_MESSAGE: None}
    content = {
        "version": http_config.STORAGE_VERSION,
        "minor_version": http_config.STORAGE_MINOR_VERSION,
        "key": http_config.STORAGE_KEY,
        "data": {"stable": stable, "pending": None, "yaml_migration_done": True},
    }
    store.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    print(f"{store}: Home Assistant will listen on {HOST}:{port}")


if __name__ == "__main__":
    main()
