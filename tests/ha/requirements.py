"""Owns the list of PyPI requirements Home Assistant needs at start for roomsense's tests.

Run with the Home Assistant venv's python (setup-venv does this). Home Assistant's own
package only depends on what its core needs; integrations declare their PyPI
requirements in their manifest.json and HA normally pip-installs them at run time.
The tests run `hass --skip-pip` (no installs behind the test's back, no network at test
time), so every integration HA loads at start must have its requirements installed
beforehand. A missing requirement of `frontend` (a critical integration) makes HA boot
into recovery mode; a missing one elsewhere fails that integration's setup.

Which integrations: CORE_INTEGRATIONS, DEFAULT_INTEGRATIONS and the critical ones from
`homeassistant.bootstrap`, plus `mqtt`, the entity platforms MQTT discovery can create
(they are loaded when a discovery message arrives, e.g. `camera` needs PyTurboJPEG), and
any domains given on the command line -- closed over both `dependencies` and
`after_dependencies` (after_dependencies are loaded too when present, e.g. `analytics`
imports `hassio`).

Usage:
    python requirements.py [DOMAIN ...]          print one requirement per line
    python requirements.py --check [DOMAIN ...]  exit 1 listing the ones not installed
"""

from __future__ import annotations

import json
import pathlib
import sys


def start_domains() -> set[str]:
    """Domains Home Assistant sets up at start with the tests' configuration."""
    # Importing bootstrap takes a few seconds; it is done once per venv build.
    from homeassistant import bootstrap

    domains: set[str] = set(bootstrap.CORE_INTEGRATIONS)
    domains |= set(bootstrap.DEFAULT_INTEGRATIONS)
    domains |= set(getattr(bootstrap, "CRITICAL_INTEGRATIONS", {"frontend"}))
    # The tests' configuration.yaml uses these keys.
    domains |= {"homeassistant", "http", "logger", "mqtt"}
    try:
        from homeassistant.components.mqtt.const import SUPPORTED_COMPONENTS

        domains |= {str(platform) for platform in SUPPORTED_COMPONENTS}
    except ImportError as err:  # an older/newer layout: still install the rest
        print(f"requirements.py: warning: MQTT platforms unknown ({err})", file=sys.stderr)
    return domains


def components_dir() -> pathlib.Path:
    import homeassistant.components

    return pathlib.Path(homeassistant.components.__file__).parent


def load_manifest(root: pathlib.Path, domain: str) -> dict:
    path = root / domain / "manifest.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        # `device` is a pseudo-component of MQTT discovery, not an integration.
        return {}


def walk(roots: set[str]) -> tuple[list[str], list[str]]:
    """Returns (sorted domains, requirements in first-seen order) of the closure of roots."""
    comp = components_dir()
    seen: set[str] = set()
    todo = sorted(roots)
    requirements: list[str] = []
    while todo:
        domain = todo.pop()
        if domain in seen:
            continue
        seen.add(domain)
        manifest = load_manifest(comp, domain)
        for req in manifest.get("requirements", []):
            if req not in requirements:
                requirements.append(req)
        for dep in manifest.get("dependencies", []) + manifest.get("after_dependencies", []):
            if dep not in seen:
                todo.append(dep)
    return sorted(seen), requirements


def main(argv: list[str]) -> int:
    check = "--check" in argv
    extra = {arg for arg in argv if not arg.startswith("-")}
    domains, requirements = walk(start_domains() | extra)
    print(
        f"requirements.py: {len(domains)} integrations, {len(requirements)} requirements",
        file=sys.stderr,
    )
    if not check:
        for req in requirements:
            print(req)
        return 0

    from homeassistant.util.package import is_installed

    missing = [req for req in requirements if not is_installed(req)]
    for req in missing:
        print(f"requirements.py: not installed: {req}", file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
