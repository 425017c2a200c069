"""`profile freeze|materialize|list`, `certify` and `verify`: the vendor certification commands."""

from __future__ import annotations

import argparse
import contextlib
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .options import (
    COUNT,
    EXIT_FAILED,
    EXIT_OK,
    NON_NEGATIVE,
    RATE,
    SECONDS,
    Parser,
    UsageError,
    add_cache_dir,
    add_cases,
    add_db,
    add_expectations,
    add_json,
    add_max_examples,
    add_opset,
    add_quiet,
    add_seed,
    print_json,
    progress_steps,
    split,
    stderr_log,
)


def register(sub: Any) -> None:
    p = sub.add_parser("profile", help="freeze, materialize or list certification profiles")
    actions = p.add_subparsers(dest="action", required=True, parser_class=Parser)
    freeze = actions.add_parser("freeze", help="build a profile from the current case library (needs torch)")
    freeze.add_argument(
        "name", metavar="NAME", help="profile name; core, core-special, models, low-precision use their recipe"
    )
    add_cases(freeze, "the recipe's")
    add_max_examples(freeze, None, "instances drawn per case to pick from")
    freeze.add_argument("--per-case", type=COUNT, help="instances kept per case and dtype group (default: 1)")
    add_seed(freeze)
    freeze.add_argument("--groups", help="dtype groups: standard, float16, bfloat16, any (comma-separated)")
    freeze.add_argument("--special-values", action=argparse.BooleanOptionalAction, default=None)
    freeze.add_argument("--exporter", default="dynamo", help="default: dynamo")
    add_opset(freeze)
    freeze.add_argument("--version", dest="profile_version", type=COUNT, default=1, help="profile version (default: 1)")
    freeze.add_argument("--must-pass", help="comma-separated globs of cases whose instances must pass")
    freeze.add_argument("--min-pass-rate", type=RATE, help="minimum pass rate per category and overall")
    freeze.add_argument("--out", type=Path, help="where to write the profile (default: NAME.json)")
    add_cache_dir(freeze)
    add_quiet(freeze, "no per-case progress")
    freeze.set_defaults(func=cmd_freeze)
    mat = actions.add_parser("materialize", help="write a profile's artifacts in backend-test layout")
    mat.add_argument("name", metavar="NAME", help="shipped profile name or path to a profile JSON")
    mat.add_argument("dir", metavar="DIR", type=Path, help="new folder to write into")
    add_cache_dir(mat)
    add_quiet(mat, "no per-instance progress")
    mat.set_defaults(func=cmd_materialize)
    listing = actions.add_parser("list", help="the shipped profiles")
    add_json(listing)
    listing.set_defaults(func=cmd_list_profiles)

    cert = sub.add_parser("certify", help="run a profile on one backend and write a verifiable bundle")
    cert.add_argument("--backend", required=True, help="backend name (see `conformance list backends`)")
    cert.add_argument("--profile", required=True, help="shipped profile name or path to a profile JSON")
    cert.add_argument("--materialized", type=Path, help="a materialized profile folder (no torch needed)")
    cert.add_argument("--out", type=Path, required=True, help="the bundle to write (BUNDLE.tar.gz)")
    add_cache_dir(cert)
    add_expectations(cert, "known failures used as waivers")
    cert.add_argument("--timeout", type=SECONDS, help="seconds per result before `timeout`")
    cert.add_argument("--in-process", action="store_true", help="run the backend in this process")
    add_db(cert, "also record the run in this results store")
    add_quiet(cert, "no per-instance progress")
    cert.set_defaults(func=cmd_certify)

    ver = sub.add_parser("verify", help="check a certification bundle; exit 1 on any problem")
    ver.add_argument("bundle", metavar="BUNDLE", type=Path, help="the bundle (.tar.gz)")
    ver.add_argument("--rerun", type=NON_NEGATIVE, default=0, metavar="N", help="re-run N sampled instances locally")
    ver.add_argument("--profile", help="profile to check against (default: the shipped one the manifest names)")
    ver.add_argument("--materialized", type=Path, help="materialized profile folder for --rerun")
    add_cache_dir(ver)
    add_seed(ver, None, "seed of the --rerun sample (default: random, printed)")
    add_json(ver)
    ver.set_defaults(func=cmd_verify)


@contextlib.contextmanager
def _profile_error(action: str) -> Iterator[None]:
    """The profile stage's typed error as this command's one-line usage error."""
    from ..certification.profile import ProfileError

    try:
        yield
    except ProfileError as exc:
        raise UsageError(f"conformance profile {action}: {exc}") from None


def cmd_list_profiles(args: argparse.Namespace) -> int:
    from ..certification.profile import load, shipped

    with _profile_error("list"):
        rows = [load(name).describe() for name in shipped()]
    if args.json:
        print_json(rows)
        return EXIT_OK
    for r in rows:
        cats = ", ".join(f"{c} {n}" for c, n in r["categories"].items())
        print(f"{r['name']} v{r['version']} {r['sha256'][:16]}  {r['instances']} instances ({cats})")
    return EXIT_OK


def cmd_materialize(args: argparse.Namespace) -> int:
    from ..certification.materialize import materialize
    from ..certification.profile import load

    with _profile_error("materialize"):
        profile = load(args.name)
        path = materialize(profile, args.dir, cache_dir=args.cache_dir, log=stderr_log(args.quiet))
    print(f"{path}: profile {profile.label} ({profile.digest[:16]}), {len(profile.instances)} instances")
    return EXIT_OK


def cmd_freeze(args: argparse.Namespace) -> int:
    from ..certification.freeze import freeze
    from ..certification.profile import save

    with _profile_error("freeze"):
        profile = freeze(
            args.name,
            cases=args.cases,
            seed=args.seed,
            max_examples=args.max_examples,
            per_case=args.per_case,
            special_values=args.special_values,
            groups=split(args.groups) or None,
            exporter=args.exporter,
            opset=args.opset,
            version=args.profile_version,
            must_pass=split(args.must_pass) or None,
            min_pass_rate=args.min_pass_rate,
            cache_dir=args.cache_dir,
            log=stderr_log(args.quiet),
        )
        path = save(profile, args.out or Path(f"{args.name}.json"))
    print(
        f"{path}: profile {profile.label} ({profile.digest[:16]}), "
        f"{len(profile.instances)} instances, {len(profile.document['excluded'])} left out"
    )
    return EXIT_OK


def cmd_certify(args: argparse.Namespace) -> int:
    from ..certification.bundle import CertifyError, certify
    from ..certification.profile import ProfileError
    from ..expectations import resolve_path

    try:
        with progress_steps("certify", quiet=args.quiet) as steps:
            done = certify(
                args.backend,
                args.profile,
                args.out,
                materialized=args.materialized,
                cache_dir=args.cache_dir,
                expectations=resolve_path(args.expectations),
                isolate=not args.in_process,
                timeout=args.timeout,
                db=args.db,
                command=shlex.join(["conformance", *args.argv]),
                echo=None if args.quiet else steps.line,
                progress=steps.at,
            )
    except (CertifyError, ProfileError) as exc:
        raise UsageError(f"conformance certify: {exc}") from None
    overall = done.summary["overall"]
    print(
        f"{done.path}: {overall['instances']} instances, pass rate {overall['pass_rate']:.1%} "
        f"(minimum {overall['min_pass_rate']:.0%}), {len(overall['must_pass_failures'])} must-pass failures: "
        f"{'MEETS' if done.summary['meets_profile'] else 'DOES NOT MEET'} profile {done.summary['profile']}"
    )
    for name, cat in done.summary["categories"].items():
        if not cat["meets"]:
            print(f"  {name}: pass rate {cat['pass_rate']:.1%} (minimum {cat['min_pass_rate']:.0%}), "
                  f"must-pass failures: {', '.join(cat['must_pass_failures']) or 'none'}")  # fmt: skip
    return EXIT_OK if done.summary["meets_profile"] else EXIT_FAILED


def cmd_verify(args: argparse.Namespace) -> int:
    from ..certification.verify import verify

    result = verify(
        args.bundle,
        profile=args.profile,
        rerun_count=args.rerun,
        materialized=args.materialized,
        cache_dir=args.cache_dir,
        seed=args.seed,
        log=stderr_log(False),
    )
    if args.json:
        print_json({"ok": result.ok, "problems": result.problems, "notes": result.notes, "reran": result.reran})
    else:
        print(result.verdict(args.bundle))
    return EXIT_OK if result.ok else EXIT_FAILED
