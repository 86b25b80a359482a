"""Argument errors from the CLI framework, rewritten into the tool's one-line style.

click (vendored by typer) words them its own way (``Missing argument 'channel'``) and
typer passes pydantic's validation text through (``Input should be greater than or
equal to 1``). Here each becomes ``docker kolla: error: <problem>: <fix>``, with docker's
own phrases where docker has one (``unknown flag``, ``flag needs an argument``).
"""

from __future__ import annotations

import difflib
import re


def _flag(param) -> str:
    opts = list(getattr(param, "opts", ()) or ())
    longs = [o for o in opts if o.startswith("--")]
    if longs:
        return longs[0]
    return (param.name or "argument").upper() if param is not None else "argument"


def _what(param) -> str:
    """``--jobs`` for an option, ``CHANNEL`` for an argument."""
    if param is None:
        return "a value"
    if getattr(param, "param_type_name", "") == "argument":
        return (param.metavar or param.name or "argument").upper()
    return _flag(param)


def _bounds(param) -> str:
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        return f"a whole number from {low} to {high}"
    if low is not None:
        return f"a whole number, at least {low}"
    if high is not None:
        return f"a whole number, at most {high}"
    return ""


_PYDANTIC = (
    (re.compile(r"Input should be a valid integer"), "a whole number"),
    (re.compile(r"Input should be a valid number"), "a number"),
    (re.compile(r"Input should be a valid boolean"), "true or false"),
)


def _expected(param, message: str) -> str:
    """What the value must be, in words: from the parameter's bounds, else the message."""
    if "greater than" in message or "less than" in message:
        return _bounds(param) or message
    for pattern, words in _PYDANTIC:
        if pattern.search(message):
            return _bounds(param) or words
    return message.rstrip(".")


def rewrite(exc, command_path: str) -> str:
    """The one line for a click UsageError ``exc`` raised while parsing ``command_path``."""
    see = f"see `{command_path} --help`"
    kind = type(exc).__name__
    param = getattr(exc, "param", None)
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    if kind == "MissingParameter":
        what = _what(param)
        noun = "argument" if getattr(param, "param_type_name", "") == "argument" else "flag"
        return f"missing {noun} {what}: {command_path} needs it; {see}"
    if kind == "NoSuchOption":
        name = getattr(exc, "option_name", "") or message
        close = difflib.get_close_matches(name, list(getattr(exc, "possibilities", None) or ()), n=1, cutoff=0.75)
        return f"unknown flag: {name}" + (f" (did you mean {close[0]}?)" if close else "") + f": {see}"
    if kind == "BadParameter":
        hint = getattr(exc, "param_hint", None)
        what = _what(param) if param is not None or not hint else hint if isinstance(hint, str) else hint[0]
        expected = _expected(param, getattr(exc, "message", message))
        return f"invalid value for {what}: {expected if expected.startswith('must') else 'must be ' + expected}: {see}"
    match = re.match(r"Option '([^']+)' requires (an argument|\d+ arguments)", message)
    if match:
        return f"flag needs an argument: {match.group(1)}: {see}"
    match = re.match(r"Got unexpected extra argument(?:s|\(s\))? \((.*)\)", message)
    if match:
        return f"unexpected argument {match.group(1)!r}: {see}"
    match = re.match(r"No such command '([^']+)'\.(?: Did you mean (.*)\?)?", message)
    if match:
        hint = f" (did you mean {match.group(2).replace(chr(39), '')}?)" if match.group(2) else ""
        return f"unknown command {match.group(1)!r}{hint}: {see}"
    return f"{message.rstrip('.')}: {see}"
