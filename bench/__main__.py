"""python -m bench --scale demo|district|city [--database-url URL] [--only NAME] [--json OUT]

Builds (or continues building) the synthetic city of the scale in its database, then takes
the figures and prints them; ``--json OUT`` writes
{"machine", "dataset", "commit", "figures": {NAME: {"per_s", "p50_ms", "p95_ms", "runs"}}}.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from bench.city import SCALES, generate, generation_state, log, upgrade_schema
from bench.measure import FIGURES, run

DEFAULT_SERVER = os.environ.get("BENCH_PG_SERVER", "postgresql://postgres@127.0.0.1:5432")


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="demo")
    parser.add_argument("--database-url", help="PostgreSQL database of the synthetic city "
                        "(default: BENCH_PG_SERVER/griddesk_bench_SCALE); its name must contain "
                        "'bench'")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help=f"only this figure (repeatable, or comma-separated): {', '.join(FIGURES)}; "
                        "'mix' measures Gunicorn workers × threads mixes, 'point_to_grid_city' "
                        "point_to_grid over the city's 25,600 polygons at any scale")
    parser.add_argument("--json", metavar="OUT", help="write the results as JSON")
    parser.add_argument("--generate-only", action="store_true", help="build the city, measure nothing")
    parser.add_argument("--fresh", action="store_true", help="drop the database and start again")
    parser.add_argument("--measure-as-is", action="store_true",
                        help="measure the database as it is, without continuing its generation "
                        "(e.g. a city whose rollups are still to come; the JSON says so)")
    parser.add_argument("--no-tune", action="store_true",
                        help="leave the database's PostgreSQL settings as they are")
    parser.add_argument("--against", metavar="DIR", type=Path,
                        help="another checkout of GridDesk (git worktree add DIR REV): its intake "
                        "and this one's measured alternately, figure intake_against "
                        "(bench/compare.py), after the other figures (--only intake_against: "
                        "none of them)")
    parser.add_argument("--port", type=int, default=5099)
    parser.add_argument("--workers", type=int, help="Gunicorn workers (default: gunicorn.conf.py)")
    parser.add_argument("--threads", type=int, help="Gunicorn threads per worker")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> dict:
    args = parse(argv)
    url = args.database_url or f"{DEFAULT_SERVER}/griddesk_bench_{args.scale}"
    only = {name.strip() for item in args.only or [] for name in item.split(",") if name.strip()}
    started = time.perf_counter()
    timings = generation_state(url) if args.measure_as_is else \
        generate(url, SCALES[args.scale], fresh=args.fresh)
    if args.measure_as_is and "verify_s" not in timings:
        raise SystemExit("the city is still being loaded (its indexes are dropped until the load "
                         "ends): nothing to measure yet")
    if args.generate_only:
        return {"generation": timings}
    upgrade_schema(url)
    result = run(url, args.scale, only or None, args.port, args.workers, args.threads,
                 tune=not args.no_tune, against=args.against)
    result["dataset"]["generation_s"] = timings
    result["total_s"] = round(time.perf_counter() - started, 1)
    print_table(result)
    if args.json:
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
        log(f"wrote {args.json}")
    return result


def print_table(result: dict) -> None:
    print(f"\n{'figure':<24}{'per s':>12}{'p50 ms':>10}{'p95 ms':>10}{'runs':>8}  ratio")
    for name, f in result["figures"].items():
        if not isinstance(f, dict):
            print(f"{name:<24}{f:>12}")
            continue
        if "ratio_per_s" in f:  # intake_against (bench/compare.py)
            print(f"{name:<24}{f['this']['per_s']:>12,.1f} against {f['other']['per_s']:,.1f}/s "
                  f"of {f['other']['commit']}: {f['ratio_per_s']} of its rate, {f['ratio_cpu']} "
                  f"of its CPU per intake")
            continue
        ratio = f.get("ratio", f.get("ratio_to_raw", f.get("ratio_to_bare", "")))
        print(f"{name:<24}{f['per_s']:>12,.1f}{f['p50_ms'] or 0:>10.1f}{f['p95_ms'] or 0:>10.1f}"
              f"{f['runs']:>8}  {ratio}")


if __name__ == "__main__":
    main(sys.argv[1:])
