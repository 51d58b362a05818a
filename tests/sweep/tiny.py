"""The smallest real scenario the store tests run: 1 and 2 CPUs, 256 MiB, page_fault1, a few
milliseconds a point (a transient, which is all these tests need)."""

from __future__ import annotations

from pathlib import Path

from sweep.scenario import Scenario, load_scenario


def tiny_scenario(directory: Path, name: str = "tiny", *, seeds: int = 1,
                  policies: tuple[str, ...] = ("upstream", "pcp-buddy"),
                  duration: str = "5ms") -> tuple[Path, Scenario]:
    """Write `<directory>/<name>.toml` and return its path and the loaded scenario."""
    path = directory / f"{name}.toml"
    policy = ", ".join(f'"{p}"' for p in policies)
    path.write_text(f"""[sweep]
name = "{name}"
seeds = {seeds}
duration = "{duration}"
[grid]
cpus = [1, 2]
policy = [{policy}]
[fixed]
mem = "256MiB"
mix = "page_fault1"
""")
    return path, load_scenario(path)
