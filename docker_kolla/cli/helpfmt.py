"""``--help`` in the docker CLI's layout, with no markup parsing.

Docker's commands (cobra) print ``Usage:``, the description, ``Options:`` sorted by
name with a type word after each flag that takes a value (``--jobs int``,
``--image stringArray``; boolean flags have none) and ``(default ...)`` at the end of
its description, then ``Examples:``. Help text is printed as written: square
brackets (``HOST[/NAMESPACE]``, ``[defaults]``) are text here, never markup.
"""

from __future__ import annotations

import inspect
import typing

import typer

from docker_kolla.cli.examples import EXAMPLES


def _is_option(param) -> bool:
    return getattr(param, "param_type_name", "") == "option"


def _is_argument(param) -> bool:
    return getattr(param, "param_type_name", "") == "argument"


def _annotation(param):
    descriptor = getattr(param, "type_descriptor", None)
    return getattr(descriptor, "annotation", None)


def _is_flag(param) -> bool:
    return bool(getattr(param, "is_flag", False)) or _annotation(param) is bool


def type_word(param) -> str:
    """The placeholder after a flag, as docker prints it: string, int, stringArray, or a name."""
    if _is_flag(param):
        return ""
    if param.multiple:
        return "stringArray"
    if param.metavar:
        return param.metavar.lower()
    annotation = _annotation(param)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if args and typing.get_origin(annotation) is typing.Union else annotation
    if base is int:
        return "int"
    if base is float:
        return "decimal"
    return "string"


def _default_text(param) -> str:
    if getattr(param, "show_default", True) is False or param.required or _is_flag(param) and not param.default:
        return ""
    value = param.default
    if value is None or value == () or value == [] or callable(value):
        return ""
    if isinstance(value, bool):
        return f"(default {str(value).lower()})"
    if isinstance(value, (int, float)):
        return f"(default {value})"
    return f'(default "{value}")'


def _names(param) -> tuple[str, str]:
    shorts = [o for o in param.opts if not o.startswith("--")]
    longs = [o for o in param.opts if o.startswith("--")] + list(param.secondary_opts)
    return (shorts[0] if shorts else ""), ", ".join(longs)


def option_rows(command, ctx) -> list[tuple[str, str]]:
    """``(flag column, description)`` for every visible option but --help, sorted by long name."""
    help_names = set(ctx.help_option_names)
    rows = []
    for param in command.get_params(ctx):
        if not _is_option(param) or param.hidden or help_names & set(param.opts):
            continue
        short, long = _names(param)
        word = type_word(param)
        left = (f"{short}, " if short else "    ") + long + (f" {word}" if word else "")
        extras = [t for t in (_default_text(param), "(required)" if param.required else "") if t]
        text = inspect.cleandoc(param.help or "")
        text = " ".join([text.rstrip(".") if extras else text, *extras]).strip()
        rows.append((long.lstrip("-"), left, text))
    return [(left, text) for _, left, text in sorted(rows)]


def argument_rows(command, ctx) -> list[tuple[str, str]]:
    return [
        (usage_word(p), inspect.cleandoc(getattr(p, "help", None) or ""))
        for p in command.get_params(ctx)
        if _is_argument(p) and not getattr(p, "hidden", False)
    ]


def usage_word(param) -> str:
    if param.metavar:
        return param.metavar
    word = (param.name or "arg").upper().replace("_", "-")
    if param.nargs == -1:
        word += "..."
    return word if param.required else f"[{word}]"


def _columns(rows: list[tuple[str, str]]) -> list[str]:
    width = max((len(left) for left, _ in rows), default=0) + 3
    lines = []
    for left, text in rows:
        first, *rest = (text or "").splitlines() or [""]
        lines.append(f"  {left.ljust(width)}{first}".rstrip())
        lines += [" " * (width + 2) + line for line in rest]
    return lines


def command_path(ctx) -> str:
    return ctx.command_path or "docker kolla"


def _sub_path(ctx) -> str:
    """``lock``, ``cache prune``: the command path after the plugin name."""
    path = command_path(ctx).split()
    return " ".join(path[2:] if path[:2] == ["docker", "kolla"] else path[1:])


def render_help(command, ctx) -> str:
    path = command_path(ctx)
    is_group = hasattr(command, "commands")
    args = " ".join(usage_word(p) for p in command.get_params(ctx) if _is_argument(p))
    options = option_rows(command, ctx)
    usage = f"{path}{' [OPTIONS]' if options else ''}" + (" COMMAND" if is_group else f" {args}" if args else "")
    lines = ["", f"Usage:  {usage}", ""]
    if command.help:
        lines += [inspect.cleandoc(command.help), ""]
    if is_group:
        subs = [(n, c) for n, c in command.commands.items() if not c.hidden]
        lines.append("Commands:")
        lines += _columns([(n, inspect.cleandoc(c.help or "").splitlines()[0] if c.help else "") for n, c in subs])
        lines.append("")
    arguments = argument_rows(command, ctx)
    if arguments:
        lines += ["Arguments:", *_columns(arguments), ""]
    if options:
        lines += ["Options:", *_columns(options), ""]
    examples = EXAMPLES.get(_sub_path(ctx), ())
    if examples:
        lines += ["Examples:", *(f"  {e}" if e else "" for e in examples), ""]
    if is_group:
        lines += [f"Run '{path} COMMAND --help' for more information on a command.", ""]
    return "\n".join(lines)


# Options every command and group accepts wherever they appear (``--repo``); cli/base.py fills it.
COMMON_PARAMS: list = []


def _with_common(params: list) -> list:
    names = {p.name for p in params}
    return [*params, *(p for p in COMMON_PARAMS if p.name not in names)]


class DockerCommand(typer.core.TyperCommand):
    def get_params(self, ctx) -> list:
        return _with_common(super().get_params(ctx))

    def format_help(self, ctx, formatter) -> None:
        formatter.write(render_help(self, ctx))


class DockerGroup(typer.core.TyperGroup):
    def get_params(self, ctx) -> list:
        return _with_common(super().get_params(ctx))

    def format_help(self, ctx, formatter) -> None:
        formatter.write(render_help(self, ctx))


class Typer(typer.Typer):
    """typer.Typer whose commands and groups print docker-style help and never parse markup."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("cls", DockerGroup)
        kwargs.setdefault("rich_markup_mode", None)
        super().__init__(*args, **kwargs)

    def command(self, *args, **kwargs):
        kwargs.setdefault("cls", DockerCommand)
        return super().command(*args, **kwargs)
