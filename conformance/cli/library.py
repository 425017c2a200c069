"""`list`, `coverage` and `export-cases`: what the library holds, what it exercises, and its cases as files."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..model import Cover
from ..presets import PRESETS
from .options import (
    EXIT_FAILED,
    EXIT_OK,
    UsageError,
    add_cache_dir,
    add_cases,
    add_exporters,
    add_json,
    add_max_examples,
    add_opset,
    add_quiet,
    add_seed,
    exporters,
    print_json,
    progress_steps,
    stderr_log,
)


def register(sub: Any) -> None:
    p = sub.add_parser("list", help="list cases or backends")
    p.add_argument("what", choices=["cases", "backends"])
    add_json(p)
    add_cases(p)
    p.set_defaults(func=cmd_list)

    p = sub.add_parser("coverage", help="ONNX operators the exported graphs exercise; torch operators the cases run")
    add_cases(p)
    add_exporters(p, "dynamo,torchscript")
    add_opset(p)
    add_max_examples(p, None, "instances per case (default: 2; with --params and --preset, the preset's)")
    add_seed(p)
    add_cache_dir(p)
    add_json(p)
    p.add_argument("--json-out", type=Path, metavar="FILE", help="also write the JSON to FILE")
    p.add_argument(
        "--params",
        action="store_true",
        help="instead: each case's choice and boolean parameters, the values drawn and those never drawn (no export)",
    )
    p.add_argument("--preset", choices=sorted(PRESETS), help="with --params: draw as this preset does")
    p.add_argument(
        "--cover", choices=[str(c) for c in Cover], help="with --params: covering (default: the preset's, or none)"
    )
    p.set_defaults(func=cmd_coverage)

    p = sub.add_parser(
        "export-cases", help="write cases as ONNX backend-test folders (onnx_test_runner, onnx.backend.test)"
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument("--profile", help="a shipped profile name or a profile JSON: export its frozen instances")
    add_cases(source)
    add_exporters(p)
    add_opset(p)
    add_max_examples(p, 1)
    add_seed(p)
    add_cache_dir(p)
    add_quiet(p, "no per-test progress")
    p.add_argument("dir", metavar="DIR", type=Path, help="folder to write test_*/ folders and manifest.json into")
    p.set_defaults(func=cmd_export_cases)


def _table(columns: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    """A table on a terminal; piped, one row per line, tab-separated and never cut, for grep, cut and xargs."""
    import os
    import sys

    from rich.console import Console
    from rich.table import Table

    if not sys.stdout.isatty() and not os.environ.get("FORCE_COLOR"):  # `--color always` asks for the table
        for row in rows:
            print("\t".join(row))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


def cmd_list(args: argparse.Namespace) -> int:
    if args.what == "backends":
        from ..backends import describe, discover_backends

        rows = [describe(b) for b in discover_backends().values()]
        if args.json:
            print_json(rows)
        else:
            _table(
                ("backend", "version", "available", "reason"),
                [(r["name"], r["version"] or "", "yes" if r["available"] else "no", r["reason"]) for r in rows],
            )
        return EXIT_OK

    from ..generate import discover_cases, select_cases

    cases = select_cases(discover_cases(), args.cases, include_opt_in=True)
    rows = [
        {
            "name": c.name,
            "path": c.path,
            "category": c.category,
            "op_class": str(c.op_class),
            "min_opset": c.min_opset,
            "tags": list(c.tags),
            "unspecified": list(c.unspecified),
            "notes": c.notes,
        }
        for c in cases
    ]
    if args.json:
        print_json(rows)
    else:
        _table(
            ("case", "category", "class", "min opset"),
            [(r["path"], r["category"], r["op_class"], str(r["min_opset"])) for r in rows],
        )
    return EXIT_OK


def cmd_coverage(args: argparse.Namespace) -> int:
    from ..coverage import measure
    from ..export import default_cache_dir
    from ..generate import discover_cases, select_cases

    if args.params:
        return _parameter_coverage(args)

    with progress_steps("coverage") as steps:
        data = measure(
            select_cases(discover_cases(args.cache_dir, args.cases, opt_in=False), args.cases),
            seed=args.seed,
            max_examples=args.max_examples or 2,
            exporters=exporters(args.exporters, "conformance coverage"),
            opset=args.opset,
            cache_dir=args.cache_dir or default_cache_dir(),
            progress=steps.at,
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(data, indent=1))
    if args.json:
        print_json(data)
        return EXIT_OK
    onnx_part, torch_part = data["onnx"], data["torch"]
    print(f"cases: {data['cases']['total']} ({data['cases']['model']} model cases)")
    print(
        f"ONNX operators exercised at opset {data['opset']}: {onnx_part['count']} of {onnx_part['available']} "
        f"in the default domain ({', '.join(data['exporters'])})"
    )
    print(f"not exercised: {', '.join(onnx_part['missing'])}")
    print(f"PyTorch (aten) operators run by the cases: {torch_part['count']}")
    if data["export_failures"]:
        print(f"instances that did not export: {len(data['export_failures'])} (see --json)")
    return EXIT_OK


def cmd_export_cases(args: argparse.Namespace) -> int:
    from ..export import ArtifactCache, default_cache_dir
    from ..export_cases import export_cases, export_profile
    from ..generate import discover_cases, select_cases

    chosen = exporters(args.exporters, "conformance export-cases")
    cache = ArtifactCache(args.cache_dir or default_cache_dir())
    log = stderr_log(args.quiet)
    if args.profile:
        from ..certification.profile import ProfileError, load

        try:
            profile = load(args.profile)
        except ProfileError as exc:
            raise UsageError(f"conformance export-cases: {exc}") from None
        report = export_profile(profile, args.dir, library=discover_cases(cache.root), cache=cache, log=log)
    else:
        report = export_cases(
            select_cases(discover_cases(cache.root, args.cases, opt_in=False), args.cases),
            args.dir,
            exporters=chosen,
            opset=args.opset,
            seed=args.seed,
            max_examples=args.max_examples,
            cache=cache,
            log=log,
        )
    print(
        f"{args.dir}: {len(report.written)} backend-test folders written, {len(report.failed)} instances not exported"
    )
    for case_id, exporter, why in report.failed[:20]:
        print(f"  not written: {case_id} ({exporter}): {(why.splitlines() or [''])[0][:200]}")
    return EXIT_OK if report.written else EXIT_FAILED


def _parameter_coverage(args: argparse.Namespace) -> int:
    from ..coverage import parameters
    from ..export import default_cache_dir
    from ..generate import discover_cases, select_cases

    preset = PRESETS[args.preset] if args.preset else None
    rows = parameters(
        select_cases(discover_cases(args.cache_dir, args.cases, opt_in=False), args.cases),
        seed=args.seed,
        max_examples=args.max_examples or (preset.max_examples if preset else 2),
        cover=args.cover or (preset.cover if preset else "none"),
        cache_dir=args.cache_dir or default_cache_dir(),
    )
    if args.json_out:
        args.json_out.write_text(json.dumps(rows, indent=1))
    if args.json:
        print_json(rows)
        return EXIT_OK
    values = sum(len(p["values"]) for r in rows for p in r["parameters"])
    never = [(r["case"], p) for r in rows for p in r["parameters"] if p["never"]]
    for r in rows:
        for p in r["parameters"]:
            mark = f"  never: {', '.join(map(str, p['never']))}" if p["never"] else ""
            print(f"{r['case']}  {p['label']}: {len(p['drawn'])}/{len(p['values'])} drawn{mark}")
    print(
        f"{len(rows)} cases, {sum(r['instances'] for r in rows)} instances, {values} parameter values; "
        f"{sum(len(p['never']) for _, p in never)} never drawn"
    )
    return EXIT_OK
