#!/usr/bin/env python3
"""Benchmark proj against honcho, supervisord, s6, runit and no supervisor.

    python3 bench/run.py [--proj PATH] [--baseline PATH] [--only a,b,...]
                         [--supervisors proj,honcho,...] [--quick] [--json FILE]

Prints one markdown table on stdout (progress goes to stderr). See
bench/README.md for what each workload measures.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

import procfs
import workloads
from supervisors import PIP_PACKAGES, all_supervisors, ensure_venv
from workloads import DEFAULT_SIZES, QUICK_SIZES, WORKLOADS

REPO = Path(__file__).resolve().parent.parent

# Result key -> (column header, format). A workload fills only its own columns.
COLUMNS = {
    "lines_per_s": ("lines/s", "{:,.0f}"),
    "lines_x_ceiling": ("× ceiling", "{:.2f}"),
    "flow_lines_per_s": ("first→last lines/s", "{:,.0f}"),
    "lost": ("lost", "{:,}"),
    "torn": ("torn", "{:,}"),
    "cpu_s": ("CPU s", "{:.2f}"),
    "restart_ms": ("restart ms", "{:.1f}"),
    "restart_p90_ms": ("p90 ms", "{:.1f}"),
    "up_s": ("all up s", "{:.2f}"),
    "up_x_ceiling": ("up × ceiling", "{:.2f}"),
    "pss_mib": ("PSS MiB", "{:.1f}"),
    "stop_s": ("stop s", "{:.2f}"),
    "orphans": ("orphans", "{}"),
    "idle_ms_per_s": ("idle CPU ms/s", "{:.2f}"),
}


def find_proj(given: str | None) -> str | None:
    if given:
        return given if os.access(given, os.X_OK) else None
    built = REPO / "target" / "release" / "proj"
    return str(built) if os.access(built, os.X_OK) else shutil.which("proj")


def describe_proj(binary: str | None) -> str:
    if binary is None:
        return "proj (not found)"
    try:
        output = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=10).stdout
        version = (output.strip().splitlines() or [""])[0]
    except (OSError, subprocess.TimeoutExpired):
        version = ""
    return f"{version or 'proj'} ({binary})"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--proj", help="proj binary (default: target/release/proj, then proj on PATH)")
    parser.add_argument("--baseline", metavar="PATH",
                        help="a second proj binary, run beside the first as `proj (baseline)`")
    parser.add_argument("--only", help="workloads to run, by letter or name: "
                        + ", ".join(f"{w.letter}={w.key}" for w in WORKLOADS))
    parser.add_argument("--supervisors", help="supervisors to run: ceiling, proj, honcho, supervisord, s6, runit")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", metavar="FILE", help="also write the raw results to FILE")
    return parser.parse_args()


def selected(names: str | None, known: set[str], what: str) -> set[str] | None:
    """The comma-separated names, checked against known; None means all."""
    if names is None:
        return None
    chosen = {name.strip() for name in names.split(",") if name.strip()}
    if unknown := chosen - known:
        sys.exit(f"unknown {what}: {', '.join(sorted(unknown))} (known: {', '.join(sorted(known))})")
    return chosen


def render_table(rows: list[dict]) -> str:
    """One markdown table; only the columns some row filled."""
    used = [key for key in COLUMNS if any(key in row for row in rows)]
    header = ["workload", "supervisor", *(COLUMNS[key][0] for key in used), "notes"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    previous = None
    for row in rows:
        cells = [row["title"] if row["title"] != previous else "", row["supervisor"]]
        previous = row["title"]
        for key in used:
            value = row.get(key, "")
            if value is None:
                cells.append("—")  # not measurable: the ceiling has no supervisor process
            elif isinstance(value, str):
                cells.append(value)
            else:
                cells.append(COLUMNS[key][1].format(value))
        cells.append("; ".join(row["notes"]))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def relative_to_ceiling(rows: list[dict]) -> None:
    """Each row's lines/s and all-up time as a multiple of the ceiling's in the same run."""
    for key, ratio_key in (("lines_per_s", "lines_x_ceiling"), ("up_s", "up_x_ceiling")):
        ceilings = {row["workload"]: row[key] for row in rows
                    if row["supervisor"].startswith("ceiling") and isinstance(row.get(key), float)}
        for row in rows:
            ceiling = ceilings.get(row["workload"])
            if ceiling and isinstance(row.get(key), float):
                row[ratio_key] = row[key] / ceiling


def main() -> int:
    args = parse_args()
    wanted_workloads = selected(args.only, {w.letter for w in WORKLOADS} | {w.key for w in WORKLOADS}, "workload")
    wanted_sups = selected(args.supervisors, {s.key for s in all_supervisors(None, None, False, "x")}, "supervisor")
    if wanted_sups is not None and args.baseline:
        wanted_sups.add("baseline")
    sizes = QUICK_SIZES if args.quick else DEFAULT_SIZES
    proj_binary = find_proj(args.proj)
    if args.proj and proj_binary is None:
        print(f"warning: {args.proj} is not an executable file", file=sys.stderr)
    bin_dir = ensure_venv() if wanted_sups is None or wanted_sups & {"honcho", "supervisord"} else None
    procfs.become_subreaper()

    rows, skipped = [], {}
    started = time.monotonic()
    try:
        for workload in WORKLOADS:
            if wanted_workloads is not None and not {workload.letter, workload.key} & wanted_workloads:
                continue
            title = f"{workload.letter}. {workload.title.format(**vars(sizes))}"
            for sup in all_supervisors(proj_binary, bin_dir, workload.logged, args.baseline):
                if wanted_sups is not None and sup.key not in wanted_sups:
                    continue
                reason = sup.unavailable()
                if reason and sup.key != "proj":  # proj stays in the table, with the reason
                    skipped[sup.name] = reason
                    continue
                print(f"[{workload.letter}] {sup.name} ...", file=sys.stderr, end=" ", flush=True)
                began = time.monotonic()
                result = {"notes": [f"error: {reason}"]} if reason else workloads.run(workload, sup, sizes)
                print(f"{time.monotonic() - began:.1f} s", file=sys.stderr)
                rows.append({"workload": workload.key, "title": title, "supervisor": sup.name, **result})
    except KeyboardInterrupt:
        print("\ninterrupted: the table below is partial", file=sys.stderr)

    relative_to_ceiling(rows)
    machine = f"{os.cpu_count()} CPUs, Linux {platform.release()}, Python {platform.python_version()}"
    baseline = f"; baseline {describe_proj(args.baseline)}" if args.baseline else ""
    print(f"{describe_proj(proj_binary)}{baseline}; {', '.join(PIP_PACKAGES)}; {machine}; "
          f"{time.monotonic() - started:.0f} s{' (--quick)' if args.quick else ''}\n")
    print(render_table(rows))
    for name, reason in skipped.items():
        print(f"\nskipped {name}: {reason}")
    if args.json:
        Path(args.json).write_text(json.dumps({"sizes": vars(sizes), "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
