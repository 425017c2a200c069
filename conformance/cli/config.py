"""A project's defaults for the `conformance` command, from a config file, and `conformance config`, which says
where each setting came from.

A project runs the same backends, store and expectations every time; typed on every command, they are how two
runs end up differing by accident. So the nearest config file sets them: from the current folder upward, the
first folder that holds a `conformance.toml` (its top-level keys) or a `pyproject.toml` with a
`[tool.conformance]` table. A `conformance.toml` wins over the `pyproject.toml` beside it, and only the one
file is read: two files merged would make "where did this come from" a search.

Keys are the options' dest names, with `-` or `_` (`max-examples`, `max_examples`); a top-level key applies to
every command that takes the option, and a table named for a command (`[tool.conformance.run]`,
`[tool.conformance.profile.freeze]`) applies to that command alone and wins over the top-level keys. That is
how one option that means different things to different commands (`out`, `profile`, `opset`) is set for one of
them. The known keys are read off the parsers themselves, so a new option is configurable the day it is
declared. A comma-separated option takes a TOML list or a comma string; a relative path resolves against the
file's folder, so the file means the same from any subfolder. An option a command requires (`report --out`,
`certify --backend`) is always given on its command line: a default could not stand in for it.

Precedence, highest first:

1. the command line;
2. the config file: the command's table, then the top-level keys;
3. for `run` and `nightly`, the preset (`--preset`, or the file's `preset`), for the matrix options it sets
   (exporters, opset, values, max_examples, cover). A value from the file counts as asked for, as if typed
   on every command: `preset = "quick"` with `max_examples = 3` is the quick matrix with three draws, which
   could not be written otherwise. So a top-level `max_examples` overrides `nightly`'s preset too; put it
   under `[tool.conformance.run]` to keep it off the nightly;
4. the built-in default, which for `db` and `cache_dir` is `$CONFORMANCE_DB` and `$CONFORMANCE_CACHE_DIR`
   when set. Those variables name where the library's default store and cache live (the pytest plugin and
   `check_model` read them too, and know nothing of this file), so the file, which only the CLI reads,
   overrides them as it overrides any default.

The file is applied as each parser's defaults before parsing, so argparse itself puts the command line first,
and a command reads its options exactly as before: it cannot tell a default from the file's value.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from .options import EXIT_OK, UsageError, add_json, print_json

#: The environment variables that stand in for an option's built-in default (`store.default_db_path`,
#: `export.default_cache_dir`); `conformance config` names them as a setting's source.
ENVIRONMENT = {"db": "CONFORMANCE_DB", "cache_dir": "CONFORMANCE_CACHE_DIR"}

#: Options that name a file but stay text, because a word (`none`) is also a value; Path-typed ones are known by type.
TEXT_PATHS = frozenset({"expectations"})


@dataclass(frozen=True)
class ConfigFile:
    """The file a command takes its defaults from: its table as read, not yet checked against the parsers."""

    path: Path
    table: dict[str, Any]

    @property
    def source(self) -> str:
        """How `conformance config` and every error name this file: its kind, then where it is."""
        return f"{self.path.name}:{self.path}"

    def label(self, command: tuple[str, ...]) -> str:
        """The table a key was written in, as the user wrote it, for an error message."""
        names = (*(("tool", "conformance") if self.path.name == "pyproject.toml" else ()), *command)
        return f"[{'.'.join(names)}] " if names else ""


def find(start: Path) -> ConfigFile | None:
    """The config file that applies in `start`: the nearest one upward.

    A `pyproject.toml` without a `[tool.conformance]` table does not count (a project that has not opted in
    says nothing), so the search goes on above it, as ruff's and pytest's do.
    """
    start = start.absolute()
    for folder in (start, *start.parents):
        own = folder / "conformance.toml"
        if own.is_file():
            return ConfigFile(own.resolve(), _read(own))
        project = folder / "pyproject.toml"
        if project.is_file():
            tool = _read(project).get("tool")
            if isinstance(tool, dict) and "conformance" in tool:
                found = ConfigFile(project.resolve(), tool["conformance"])
                if not isinstance(found.table, dict):
                    raise UsageError(f"{found.source}: [tool.conformance] is not a table")
                return found
    return None


def _read(path: Path) -> dict[str, Any]:
    source = f"{path.name}:{path.resolve()}"
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"{source}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise UsageError(f"{source}: {exc.strerror or exc}") from None


# --------------------------------------------------------------------------- the parsers' own options


def subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    """The commands under this one, by name: a file's tables follow the same tree."""
    return {
        name: child
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, child in action.choices.items()
    }


def settable(parser: argparse.ArgumentParser) -> dict[str, argparse.Action]:
    """The options of this parser a file may set: every optional one but help, version and the required."""
    return {
        a.dest: a for a in parser._actions if a.option_strings and a.default is not argparse.SUPPRESS and not a.required
    }


def _keys(parser: argparse.ArgumentParser) -> set[str]:
    """Every key a table for this command may hold: its options and those of every command under it."""
    keys = set(settable(parser))
    for child in subcommands(parser).values():
        keys |= _keys(child)
    return keys


def _walk(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    yield parser
    for child in subcommands(parser).values():
        yield from _walk(child)


def _norm(key: str) -> str:
    return key.replace("-", "_")


def _is_list(action: argparse.Action) -> bool:
    """Whether an option takes a comma-separated list: every such option's help says so, and parses it itself."""
    return "comma-separated" in (action.help or "")


# --------------------------------------------------------------------------- applying the file


#: Per command (its names from the top), the options whose default the file set.
Applied = dict[tuple[str, ...], set[str]]


def apply(parser: argparse.ArgumentParser, config: ConfigFile | None) -> Applied:
    """Check the file against the parsers and make its values their defaults; return what it set, where.

    Every value is checked for every command it applies to, whichever command runs: a file that one command
    would reject is reported at once, not on the day that command is first run.
    """
    applied: Applied = {}
    if config is not None:
        _apply(parser, (), config.table, {}, config, applied)
    return applied


def _apply(
    parser: argparse.ArgumentParser,
    command: tuple[str, ...],
    table: dict[str, Any],
    inherited: dict[str, tuple[str, Any, tuple[str, ...]]],
    config: ConfigFile,
    applied: Applied,
) -> None:
    """`inherited` holds the values of the tables above, each as (key as written, value, table it is in)."""
    children = {_norm(name): name for name in subcommands(parser)}
    keys = _keys(parser)
    own: dict[str, tuple[str, Any, tuple[str, ...]]] = {}
    tables: dict[str, dict[str, Any]] = {}
    for written, value in table.items():
        key, where = _norm(written), config.label(command)
        if isinstance(value, dict) and key in children:
            if children[key] in tables:
                raise UsageError(f"{config.source}: {where}table {written!r} is given twice")
            tables[children[key]] = value
        elif key in keys:
            if key in own:
                raise UsageError(f"{config.source}: {where}key {written!r} is given twice (as {own[key][0]!r})")
            own[key] = (written, value, command)
        else:
            raise UsageError(f"{config.source}: {where}unknown key {written!r} (known: {', '.join(sorted(keys))})")
    scope = {**inherited, **own}
    defaults = {
        dest: _convert(action, *scope[dest], config, parser.prog)
        for dest, action in settable(parser).items()
        if dest in scope
    }
    if defaults:
        parser.set_defaults(**defaults)
        applied[command] = set(defaults)
    for name, child in subcommands(parser).items():
        _apply(child, (*command, name), tables.get(name, {}), scope, config, applied)


def _convert(
    action: argparse.Action, key: str, value: Any, where: tuple[str, ...], config: ConfigFile, prog: str
) -> Any:
    """A TOML value as the option's own type makes it, or a one-line error naming the file, the key and the rule."""

    def fail(problem: str) -> NoReturn:
        raise UsageError(
            f"{config.source}: {config.label(where)}{key}: {problem} (as `{prog} {action.option_strings[-1]}` reads it)"
        )

    if action.nargs == 0:  # a flag: store_true, store_false (`reduce` for --no-reduce), --x/--no-x
        if not isinstance(value, bool):
            fail(f"{_shown(value)} is not true or false")
        return value
    appends = isinstance(action, argparse._AppendAction)
    if isinstance(value, list) and not (appends or _is_list(action)):
        fail("takes one value, not a list")
    numbers_too = action.type not in (None, Path)  # `opset = 18`, `timeout = 30`; a name or a path is text
    texts = []
    for item in value if isinstance(value, list) else [value]:
        number = isinstance(item, int | float) and not isinstance(item, bool)
        if not (isinstance(item, str) or (numbers_too and number)):
            fail(f"{_shown(item)} is not {'a string or a number' if numbers_too else 'a string'}")
        texts.append(str(item))
    if appends:
        return [_one(action, text, config, fail) for text in texts]
    return _one(action, ",".join(texts), config, fail)


def _shown(value: Any) -> str:
    """A TOML value as the file spells it, near enough: `true`, not Python's `True`."""
    return str(value).lower() if isinstance(value, bool) else repr(value)


def _one(action: argparse.Action, text: str, config: ConfigFile, fail: Callable[[str], NoReturn]) -> Any:
    if action.type is Path or (action.dest in TEXT_PATHS and text.lower() != "none"):
        path = Path(text).expanduser()
        path = path if path.is_absolute() else config.path.parent / path
        return path if action.type is Path else str(path)
    value: Any = text
    if callable(action.type):
        try:
            value = action.type(text)
        except argparse.ArgumentTypeError as exc:
            fail(str(exc))
        except (TypeError, ValueError):
            fail(f"invalid {getattr(action.type, '__name__', 'value')} value: {text!r}")
    if action.choices is not None and value not in action.choices:
        fail(f"{value!r} is not one of {', '.join(map(str, action.choices))}")
    return value


def configure(parser: argparse.ArgumentParser, start: Path) -> ConfigFile | None:
    """Find the file that applies in `start` and apply it: what `main` does before it parses."""
    config = find(start)
    apply(parser, config)
    return config


# --------------------------------------------------------------------------- `conformance config`


def register(sub: Any) -> None:
    p = sub.add_parser(
        "config",
        help="the settings a command runs with and where each came from: command line, config file, preset, "
        "environment or default",
    )
    add_json(p)
    p.add_argument(
        "explain",
        metavar="COMMAND ...",
        nargs=argparse.REMAINDER,
        help="the command line to explain, as typed after `conformance` (default: run)",
    )
    p.set_defaults(func=cmd_config)


def cmd_config(args: argparse.Namespace) -> int:
    from . import build_parser

    words = list(args.explain) or ["run"]
    parser = build_parser()
    config = find(Path.cwd())
    applied = apply(parser, config)
    command, leaf = _command(parser, words)
    as_json = args.json
    if "--json" in words and "json" not in settable(leaf):  # `config run --json`: the flag is config's own
        words.remove("--json")
        as_json = True
    keys = list(settable(leaf))
    settings = _settings(parser, words, keys, config, applied.get(command, set()))
    name = " ".join(["conformance", *command])
    where = config.source if config else None
    if as_json:
        print_json({"command": name, "config": where, "settings": settings})
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(title=name, caption=f"config file: {where or 'none'}")
    for column in ("setting", "value", "source"):
        table.add_column(column, overflow="fold")  # a path cut short would hide the one thing asked for
    for key, row in settings.items():
        table.add_row(key, _text(row["value"]), row["source"])
    Console().print(table)
    return EXIT_OK


def _command(parser: argparse.ArgumentParser, words: list[str]) -> tuple[tuple[str, ...], argparse.ArgumentParser]:
    """The command the words name, down to one that runs (`profile freeze`, not `profile`), and its parser."""
    names: list[str] = []
    for word in words:
        children = subcommands(parser)
        if not children:
            break
        if word not in children:
            raise UsageError(f"conformance config: {word!r} is not a command; choose from {', '.join(children)}")
        names.append(word)
        parser = children[word]
    children = subcommands(parser)
    if children:
        above = " ".join(names)
        raise UsageError(f"conformance config: name a command: {', '.join(f'{above} {c}' for c in children)}")
    return tuple(names), parser


def _settings(
    parser: argparse.ArgumentParser, words: list[str], keys: list[str], config: ConfigFile | None, from_file: set[str]
) -> dict[str, dict[str, Any]]:
    """Each setting the command would get from these words, with its source.

    The words are parsed twice: once as the command would parse them (the file applied), and once with every
    default suppressed, so what is left is what the command line said. Neither parse insists on a required
    argument: explaining `report` should not need a run id.
    """
    from . import build_parser
    from .run import cmd_nightly, cmd_run, matrix_origins

    for p in _walk(parser):
        for action in p._actions:
            action.required = False
    effective = parser.parse_args(words)
    bare = build_parser()
    for p in _walk(bare):
        for action in p._actions:
            action.required = False
            if action.option_strings:
                action.default = argparse.SUPPRESS
    given = vars(bare.parse_args(words))
    origins = matrix_origins(effective) if getattr(effective, "func", None) in (cmd_run, cmd_nightly) else {}
    settings: dict[str, dict[str, Any]] = {}
    for key in keys:
        value, source = getattr(effective, key), "default"
        if key in origins:  # the run's matrix as the run gets it, over the preset or the base
            value, source = origins[key]
        if key in given:
            source = "command line"
        elif key in from_file and config is not None:
            source = config.source
        elif value is None and os.environ.get(ENVIRONMENT.get(key, "")):
            value, source = Path(os.environ[ENVIRONMENT[key]]), "environment"
        settings[key] = {"value": _plain(value), "source": source}
    return settings


def _plain(value: Any) -> Any:
    """A value as JSON holds it: paths as text, tuples as lists."""
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | list):
        return [_plain(v) for v in value]
    return value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value).lower() if isinstance(value, bool) else str(value)
