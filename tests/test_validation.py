"""What Home Assistant's hassfest and the HACS action check, since neither runs here.

Manifest, HACS metadata, translations, icons, the quality scale and the pins: each file agrees with the code and
with the others.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
import re
from typing import Any
import zlib

import pytest
import yaml

from custom_components.enovates import PLATFORMS, binary_sensor, event, number, select, sensor, switch, time
from custom_components.enovates.issues import ISSUES
from custom_components.enovates.smart.prices import PriceErrorReason

ROOT = Path(__file__).parent.parent
INTEGRATION = ROOT / "custom_components" / "enovates"
SOURCES = sorted(INTEGRATION.rglob("*.py"))


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


MANIFEST = load(INTEGRATION / "manifest.json")
STRINGS = load(INTEGRATION / "strings.json")
ICONS = load(INTEGRATION / "icons.json")
CODE = "\n".join(path.read_text(encoding="utf-8") for path in SOURCES)

DESCRIPTIONS = {
    "sensor": [
        *sensor.STATE_SENSORS,
        *sensor.MEASUREMENT_SENSORS,
        *sensor.INSTALLATION_CURRENT_SENSORS,
        sensor.CURRENT_OFFERED_SENSOR,
        sensor.EMS_LIMIT_SENSOR,
        *sensor.MODE3_SENSORS,
        sensor.TOKEN_SENSOR,
        sensor.API_VERSION_SENSOR,
        sensor.STATUS_SENSOR,
        *sensor.SESSION_SENSORS,
        sensor.QUARTER_AVERAGE,
        sensor.MONTH_PEAK,
        sensor.SMART_REASON,
        sensor.PLAN,
    ],
    "binary_sensor": [
        *binary_sensor.STATE_BINARY_SENSORS,
        binary_sensor.EMS_LIMIT_ACTIVE,
        binary_sensor.CHARGING,
        binary_sensor.CAR_CONNECTED,
    ],
    "event": [event.EVENTS],
    "number": [number.EMS_LIMIT_NUMBER, number.PEAK_LIMIT, number.ENERGY_TO_ADD],
    "select": [select.CHARGING_MODE],
    "switch": [switch.CHARGING_ALLOWED],
    "time": [time.READY_BY],
}


def test_manifest() -> None:
    # hassfest: domain and name first, then the other keys in alphabetical order
    keys = list(MANIFEST)
    assert keys[:2] == ["domain", "name"]
    assert keys[2:] == sorted(keys[2:])
    assert MANIFEST["domain"] == INTEGRATION.name
    for key in ("codeowners", "config_flow", "documentation", "integration_type", "iot_class", "issue_tracker"):
        assert key in MANIFEST, key
    assert MANIFEST["config_flow"] is True
    assert MANIFEST["integration_type"] == "device"
    assert MANIFEST["iot_class"] == "local_polling"
    assert re.fullmatch(r"\d+\.\d+\.\d+", MANIFEST["version"])
    assert all(url.startswith("https://") for url in (MANIFEST["documentation"], MANIFEST["issue_tracker"]))
    assert {"enovates_modbus", "pymodbus"} <= set(MANIFEST["loggers"])


def test_requirements_are_pinned_in_one_place() -> None:
    pins = [line for line in (ROOT / "requirements" / "common.txt").read_text().splitlines() if line and line[0] != "#"]
    assert MANIFEST["requirements"] == pins
    assert all("==" in requirement for requirement in MANIFEST["requirements"])
    # the test and development environments take the integration's pins from common.txt, never their own
    for name in ("test.txt", "develop.txt"):
        text = (ROOT / "requirements" / name).read_text()
        assert "-r common.txt" in text
        assert "enovates-modbus" not in text


def test_hacs_metadata() -> None:
    hacs = load(ROOT / "hacs.json")
    assert hacs["name"] == MANIFEST["name"]
    assert hacs["render_readme"] is True
    # the oldest Home Assistant the code runs on: the oldest test environment's release is the proof
    pinned = re.search(r"^homeassistant==(\S+)$", (ROOT / "requirements" / "test-oldest.txt").read_text(), re.M)
    assert pinned is not None
    assert hacs["homeassistant"] == pinned.group(1)


def test_translations_are_in_sync() -> None:
    assert load(INTEGRATION / "translations" / "en.json") == STRINGS


def test_no_translation_references() -> None:
    # [%key:...%] references are only resolved by Home Assistant core's build, not for custom integrations
    assert "[%key:" not in (INTEGRATION / "strings.json").read_text()


@pytest.mark.parametrize("platform", list(DESCRIPTIONS))
def test_entity_translations_match_the_code(platform: str) -> None:
    used = {d.translation_key for d in DESCRIPTIONS[platform] if d.translation_key}
    assert set(STRINGS["entity"][platform]) == used
    for description in DESCRIPTIONS[platform]:
        if description.translation_key is None:
            assert description.device_class is not None, description.key  # named by its device class
            continue
        name = STRINGS["entity"][platform][description.translation_key]["name"]
        placeholders = set(re.findall(r"{(\w+)}", name))
        assert placeholders == set(description.translation_placeholders or {}), description.key
        options = getattr(description, "options", None)
        if options:
            assert set(STRINGS["entity"][platform][description.translation_key]["state"]) == set(options)


def test_event_types_are_translated() -> None:
    translated = STRINGS["entity"]["event"]["events"]["state_attributes"]["event_type"]["state"]
    assert set(translated) == set(event.EVENTS.event_types or [])


def test_every_platform_is_set_up() -> None:
    assert {platform.value for platform in PLATFORMS} == set(DESCRIPTIONS)


def test_icons_match_the_translations() -> None:
    for platform, entities in ICONS["entity"].items():
        for key, icon in entities.items():
            assert key in STRINGS["entity"][platform], f"{platform}.{key}"
            assert icon["default"].startswith("mdi:")
            states = set(icon.get("state", {}))
            if platform in ("binary_sensor", "switch"):
                assert states <= {"on", "off"}
            else:
                assert states <= set(STRINGS["entity"][platform][key].get("state", {})), f"{platform}.{key}"
    # an entity without a device class (or an enum) gets its icon from icons.json, not from its device class
    for platform, descriptions in DESCRIPTIONS.items():
        for description in descriptions:
            if description.device_class in (None, "enum"):
                assert description.translation_key in ICONS["entity"][platform], f"no icon for {description.key}"


def test_exception_translations_match_the_code() -> None:
    used = set(re.findall(r'translation_key="(\w+)"', CODE)) - {
        key for entities in STRINGS["entity"].values() for key in entities
    }
    used -= set(STRINGS["issues"])
    used -= {"port"}  # the port child device's name
    assert used == set(STRINGS["exceptions"])
    for exception in STRINGS["exceptions"].values():
        assert not exception["message"].endswith(".")


def test_actions_are_described_translated_and_have_icons() -> None:
    actions = yaml.safe_load((INTEGRATION / "services.yaml").read_text())
    registered = set(re.findall(r'SERVICE_\w+: Final = "(\w+)"', (INTEGRATION / "services.py").read_text()))
    assert set(actions) == registered == set(STRINGS["services"]) == set(ICONS["services"])
    for action, description in actions.items():
        assert set(description["fields"]) == set(STRINGS["services"][action]["fields"]), action
        assert ICONS["services"][action]["service"].startswith("mdi:")


def test_issue_and_device_translations_match_the_code() -> None:
    # every issue the integration raises goes through repairs.py, under its translation key
    assert set(STRINGS["issues"]) == set(ISSUES)
    assert set(STRINGS["device"]) == {"port"}


def test_config_flow_errors_and_aborts_match_the_code() -> None:
    flow = (INTEGRATION / "config_flow.py").read_text()
    errors = set(re.findall(r'ProbeError\("(\w+)"[,)]', flow)) | set(re.findall(r'"base": "(\w+)"', flow))
    errors |= set(re.findall(r'CONF_HOST: "(\w+)"', flow))
    assert errors == set(STRINGS["config"]["error"])
    aborts = set(re.findall(r'reason="(\w+)"', flow)) | {"already_configured", "reconfigure_successful"}
    assert aborts == set(STRINGS["config"]["abort"])
    for step in ("user", "reconfigure"):
        fields = STRINGS["config"]["step"][step]
        assert set(fields["data"]) == set(fields["data_description"]) == {"host", "port", "dual_port", "ems_control"}


def test_options_flow_errors_and_fields_match_the_code() -> None:
    flow = (INTEGRATION / "options_flow.py").read_text()
    # the price sensor's errors are the reasons prices.py gives
    reasons = {reason.value for reason in PriceErrorReason}
    assert set(re.findall(r'\] = "(\w+)"', flow)) | reasons == set(STRINGS["options"]["error"])
    fields = STRINGS["options"]["step"]["init"]
    constants = (INTEGRATION / "smart" / "const.py").read_text()
    options = set(re.findall(r'CONF_\w+: Final = "(\w+)"', constants))
    assert set(fields["data"]) == set(fields["data_description"]) == options


# Home Assistant's Integration Quality Scale: each tier's rules, lowest tier first.
QUALITY_TIERS = {
    "bronze": {
        "action-setup", "appropriate-polling", "brands", "common-modules", "config-flow-test-coverage",
        "config-flow", "dependency-transparency", "docs-actions", "docs-conditions",
        "docs-high-level-description", "docs-installation-instructions", "docs-removal-instructions",
        "docs-triggers", "entity-event-setup", "entity-unique-id", "has-entity-name", "runtime-data",
        "test-before-configure", "test-before-setup", "unique-config-entry",
    },
    "silver": {
        "action-exceptions", "config-entry-unloading", "docs-configuration-parameters",
        "docs-installation-parameters", "entity-unavailable", "integration-owner", "log-when-unavailable",
        "parallel-updates", "reauthentication-flow", "test-coverage",
    },
    "gold": {
        "devices", "diagnostics", "discovery-update-info", "discovery", "docs-data-update", "docs-examples",
        "docs-known-limitations", "docs-supported-devices", "docs-supported-functions", "docs-troubleshooting",
        "docs-use-cases", "dynamic-devices", "entity-category", "entity-device-class",
        "entity-disabled-by-default", "entity-translations", "exception-translations", "icon-translations",
        "reconfiguration-flow", "repair-issues", "stale-devices",
    },
    "platinum": {"async-dependency", "inject-websession", "strict-typing"},
}  # fmt: skip
QUALITY_RULES: dict[str, Any] = yaml.safe_load((INTEGRATION / "quality_scale.yaml").read_text())["rules"]


def _status(rule: str) -> str:
    status = QUALITY_RULES[rule]
    return str(status["status"] if isinstance(status, dict) else status)


def test_quality_scale_lists_every_rule() -> None:
    assert set(QUALITY_RULES) == set().union(*QUALITY_TIERS.values())
    for rule, status in QUALITY_RULES.items():
        if isinstance(status, dict):
            assert status["status"] in {"exempt", "todo"}, rule
            assert status["comment"].strip(), f"{rule}: an exemption or a todo says why"
        else:
            assert status == "done", rule


def test_the_manifest_claims_the_tier_the_rules_reach() -> None:
    # A tier is reached when every rule of it and of the tiers below is done or exempt; one todo stops the climb.
    reached = None
    for tier, rules in QUALITY_TIERS.items():
        if any(_status(rule) == "todo" for rule in rules):
            break
        reached = tier
    assert MANIFEST["quality_scale"] == reached


def test_every_platform_sets_parallel_updates() -> None:
    for platform in DESCRIPTIONS:
        assert "PARALLEL_UPDATES = " in (INTEGRATION / f"{platform}.py").read_text()


@pytest.mark.parametrize("language", ["nl", "fr", "de"])
def test_every_language_is_complete(language: str) -> None:
    translation = load(INTEGRATION / "translations" / f"{language}.json")

    def leaves(tree: dict[str, Any], path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
        found: dict[tuple[str, ...], str] = {}
        for key, value in tree.items():
            if isinstance(value, dict):
                found |= leaves(value, (*path, key))
            else:
                found[(*path, key)] = value
        return found

    english, translated = leaves(STRINGS), leaves(translation)
    assert translated.keys() == english.keys()
    for path, text in english.items():
        # the same placeholders, and really translated (names such as "OCPP" and "Host" may stay)
        assert set(re.findall(r"{(\w+)}", translated[path])) == set(re.findall(r"{(\w+)}", text)), path
    untranslated = [path for path, text in english.items() if translated[path] == text and len(text) > 12]
    assert untranslated == []


def png_facts(path: Path) -> tuple[int, int, int]:
    """Width, height and the alpha of the top-left pixel of an 8-bit RGBA PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    chunks: dict[bytes, bytes] = {}
    offset = 8
    while offset < len(data):
        length = int.from_bytes(data[offset : offset + 4])
        kind = data[offset + 4 : offset + 8]
        chunks[kind] = chunks.get(kind, b"") + data[offset + 8 : offset + 8 + length]
        offset += 12 + length
    width, height = int.from_bytes(chunks[b"IHDR"][0:4]), int.from_bytes(chunks[b"IHDR"][4:8])
    assert chunks[b"IHDR"][8:10] == b"\x08\x06", f"{path.name} is not 8-bit RGBA"
    # Row 0's first pixel is stored as is whatever the row's filter (no pixel above it, none to its left).
    first_row = zlib.decompressobj().decompress(chunks[b"IDAT"], 1 + 4)
    return width, height, first_row[4]


@pytest.mark.parametrize("theme", ["", "dark_"])
def test_brand_images_follow_home_assistant_sizes(theme: str) -> None:
    """Home Assistant (2026.3 and later) serves a custom integration's brand/ folder in place of the brands CDN."""
    brand = INTEGRATION / "brand"
    sizes = {name: png_facts(brand / f"{theme}{name}.png") for name in ("icon", "icon@2x", "logo", "logo@2x")}
    assert sizes["icon"][:2] == (256, 256)
    assert sizes["icon@2x"][:2] == (512, 512)
    assert 128 <= min(sizes["logo"][:2]) <= 256
    assert 256 <= min(sizes["logo@2x"][:2]) <= 512
    assert sizes["logo@2x"][:2] == (2 * sizes["logo"][0], 2 * sizes["logo"][1])
    # Transparent around the drawing, for light and dark themes alike.
    assert all(alpha == 0 for _, _, alpha in sizes.values())


def _imports_of(path: Path) -> set[str]:
    """Return the integration's modules that `path` imports, type-only imports included.

    Importing `a.b.c` runs the packages `a` and `a.b` first: each counts as imported.
    """
    package = list(path.relative_to(INTEGRATION).parts[:-1])
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            module = [*package[: len(package) - node.level + 1], *(node.module or "").split(".")]
        elif (node.module or "").startswith("custom_components.enovates"):
            module = (node.module or "").split(".")[2:]
        else:
            continue
        module = [part for part in module if part]
        # The packages this module sits in ran before it: importing them again is no step in a circle.
        imported.update(
            ".".join(module[:depth]) for depth in range(1, len(module) + 1) if module[:depth] != package[:depth]
        )
        for alias in node.names:  # `from . import x` may name a module
            if INTEGRATION.joinpath(*module, f"{alias.name}.py").exists():
                imported.add(".".join([*module, alias.name]))
    return imported


def _module_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SOURCES:
        name = ".".join(path.relative_to(INTEGRATION).with_suffix("").parts).removesuffix(".__init__")
        if name == "__init__":
            name = ""
        graph[name] = {module for module in _imports_of(path) if module != name}
    return graph


def test_imports_run_one_way() -> None:
    # No import circle between the integration's modules, not even through type-only imports: each part can be read,
    # tested and moved knowing only what is below it.
    graph = _module_graph()
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            pytest.fail("import circle: " + " -> ".join(name or "__init__" for name in cycle))
        if module in done:
            return
        path.append(module)
        for imported in sorted(graph.get(module, ())):
            visit(imported)
        path.pop()
        done.add(module)

    for module in sorted(graph):
        visit(module)
    assert len(done) == len(graph) > 30


def test_talking_modbus_needs_no_home_assistant() -> None:
    # modbus/ could move into the vendor library as one piece: it imports neither Home Assistant nor the rest.
    for path in sorted((INTEGRATION / "modbus").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            for name in names:
                assert not name.startswith(("homeassistant", "custom_components")), f"{path.name} imports {name}"
            if isinstance(node, ast.ImportFrom):
                assert node.level <= 1, f"{path.name} imports from outside modbus/"


def test_only_the_top_reads_the_runtime_data() -> None:
    # The parts below the runtime data get what they need through their constructors.
    for path in SOURCES:
        if path.parent != INTEGRATION:
            assert "runtime_data" not in path.read_text(encoding="utf-8"), path.relative_to(INTEGRATION)


def test_no_platform_imports_another() -> None:
    # A platform holds its own entities; what two platforms share lives below them (entity.py, charging/, ...).
    platforms = {str(platform) for platform in PLATFORMS}
    graph = _module_graph()
    for platform in sorted(platforms):
        assert not graph[platform] & platforms, f"{platform} imports {graph[platform] & platforms}"


def test_no_logger_is_changed_behind_its_owner_s_back() -> None:
    # Loggers are shared (pymodbus' with Home Assistant's Modbus integration): the integration logs in its own words
    # and leaves levels and filters to the user's logger configuration.
    for forbidden in ("addFilter(", "setLevel(", "levelno =", "levelno, "):
        assert forbidden not in CODE, forbidden
