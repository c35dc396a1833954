"""The store edge domain (docs/edge.md) for one month: simulate, land, then the edge_lakehouse assets, timed.

Prints, per phase, seconds and rows (events per second for the simulation and Bronze), and the peak RSS. Everything
runs in this process against a temporary lake and landing zone (deleted at the end), like the main command does
for retail.

    uv run python benchmarks/edge.py --profile tiny
    uv run python benchmarks/edge.py --profile demo --month 2024-03
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
from dagster_duckdb import DuckDBResource

from retail_assets.defs.edge import build_edge_assets, edge_key
from retail_assets.lib.edge.landing import edge_landing, land_month
from retail_assets.lib.edge.profiles import PROFILES
from retail_assets.lib.edge.simulate import simulate_month
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.months import parse_month


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="tiny", choices=sorted(PROFILES))
    parser.add_argument("--month", default="2024-03", help="YYYY-MM")
    args = parser.parse_args()
    month = parse_month(args.month)
    world = EdgeWorld(PROFILES[args.profile])
    with tempfile.TemporaryDirectory(prefix="edge-bench-") as tmp:
        landing = LandingZone(root_uri=str(Path(tmp) / "landing"))
        lake = LakeStore(root_uri=str(Path(tmp) / "lake"))
        started = time.perf_counter()
        simulated = simulate_month(world, month)
        simulate_s = time.perf_counter() - started
        events = sum(f.height for f in simulated.events.values())
        started = time.perf_counter()
        paths = land_month(edge_landing(landing), world, simulated)
        land_s = time.perf_counter() - started
        print(f"profile {args.profile}, {month:%Y-%m}: {world.profile.stores} stores, {events:,} events "
              f"({', '.join(f'{k} {v.height:,}' for k, v in simulated.events.items())})")
        print(f"simulate      {simulate_s:7.2f} s  {events / simulate_s:12,.0f} events/s")
        print(f"land          {land_s:7.2f} s  {events / land_s:12,.0f} events/s  ({len(paths)} files)")
        assets = build_edge_assets(generator=False)
        phases = {
            "bronze": [edge_key("bronze", k.path[2]) for a in assets for k in a.keys if k.path[1] == "bronze"],
            "silver": [k for a in assets for k in a.keys if k.path[1] == "silver"],
            "gold": [k for a in assets for k in a.keys if k.path[1] == "gold"],
            "serving": [k for a in assets for k in a.keys if k.path[1] == "serving"],
        }
        resources = {"lake": lake, "landing": landing, "duckdb": DuckDBResource(database=str(Path(tmp) / "s.duckdb"))}
        total = 0.0
        with dg.DagsterInstance.ephemeral() as instance:
            for phase, keys in phases.items():
                started = time.perf_counter()
                result = dg.materialize(assets, selection=keys, partition_key=f"{month:%Y-%m}-01", instance=instance,
                                        resources=resources, raise_on_error=False)
                seconds = time.perf_counter() - started
                total += seconds
                if not result.success:
                    sys.exit(f"{phase} failed")
                if phase == "serving":
                    print(f"{phase:13s} {seconds:7.2f} s  ({len(keys)} assets, in process)")
                    continue
                rows = sum(lake.read(f"edge/{k.path[1]}/{k.path[2]}").height for k in keys)
                print(f"{phase:13s} {seconds:7.2f} s  {rows:12,} rows written ({len(keys)} assets, in process)")
        print(f"edge month    {simulate_s + land_s + total:7.2f} s in all; peak RSS {_peak_mib():,.0f} MiB")


if __name__ == "__main__":
    main()
