"""Everything tshape relies on inside Typer and its vendored Click, in one module.

Typer builds the commands, their parsers and their help from the functions' signatures.
The values themselves are converted here, from the same signatures, so that:
- every supported Typer converts them alike (0.28 on converts through pydantic, whose
  import and validators cost 0.1-0.17 s on a first call, most of the start-up budget);
- a bad value is a UsageFailure (a catalog id and its parameters), and so are Click's own
  usage errors, read from the exceptions' attributes (option name, possibilities, param).
"""

from __future__ import annotations

import copy
import functools
import inspect
import re
import types
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from difflib import get_close_matches
from typing import Annotated, Any, Union, get_args, get_origin

import typer
from typer import _click as click  # Click as Typer vendors it (0.26 on)
from typer.core import TyperCommand, TyperGroup
from typer.models import ParameterInfo

from tensorshape_cli.usage import UsageFailure, range_text


@dataclass(frozen=True)
class Accept:
    """What a value may be, beyond its type: Annotated metadata that Typer ignores.

    A range given here is checked but not shown in --help (e.g. --seed's 20-digit one).
    """

    choices: tuple[str, ...] = ()
    case_sensitive: bool = True
    min: int | None = None
    max: int | None = None


@dataclass(frozen=True)
class _Conversion:
    kind: type  # str, int or bool
    multiple: bool
    accept: Accept


def _conversion(annotation: Any, default: Any) -> _Conversion | None:
    info = default if isinstance(default, ParameterInfo) else None
    accept = Accept()
    base = annotation
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        for item in meta:
            if isinstance(item, ParameterInfo):
                info = item
            elif isinstance(item, Accept):
                accept = item
    if get_origin(base) in (Union, types.UnionType):  # Optional[X]
        base = next(a for a in get_args(base) if a is not type(None))
    multiple = get_origin(base) is list
    if multiple:
        base = get_args(base)[0]
    if base not in (str, int, bool):
        return None  # left to Typer
    if info is not None and accept.min is None and accept.max is None:
        accept = replace(accept, min=getattr(info, "min", None), max=getattr(info, "max", None))
    return _Conversion(base, multiple, accept)


def hint(param: Any) -> str:
    """How Click names a parameter in an error: '--dim' / '-d', or 'TENSOR'."""
    if param.param_type_name == "option":
        return " / ".join(repr(o) for o in param.opts)
    return repr(param.metavar or param.name.upper())


def _convert(conversion: _Conversion, param: Any, where: str, text: Any) -> Any:
    if conversion.kind is bool or not isinstance(text, str):
        return text
    accept = conversion.accept

    def invalid(msg_id: str, **params: Any) -> UsageFailure:
        reason = UsageFailure(where, msg_id, **params)
        return UsageFailure(where, "usage.invalid_value", name=hint(param), message=reason)

    if accept.choices:
        for choice in accept.choices:
            if choice == text or (not accept.case_sensitive and choice.lower() == text.lower()):
                return choice
        raise invalid("usage.not_one_of", value=repr(text), choices=", ".join(map(repr, accept.choices)))
    if conversion.kind is int:
        try:
            number = int(text)
        except ValueError:
            raise invalid("usage.not_an_integer", value=repr(text)) from None
        low, high = accept.min, accept.max
        if (low is not None and number < low) or (high is not None and number > high):
            raise invalid("usage.not_in_range", value=number, range=range_text(low, high))
        return number
    return text


_FLAG = _Conversion(bool, multiple=False, accept=Accept())


def _bind(command: Any) -> None:
    """Give each parameter of `command` tshape's own conversion, read from the signature."""
    get_help_option = command.get_help_option

    def help_option(ctx: Any) -> Any:  # made on first use, so bound here
        option = get_help_option(ctx)
        if option is not None and not isinstance(option.process_value, functools.partial):
            option.process_value = functools.partial(_process, option, _FLAG)
            option.callback = _help_as_data  # Click's own echoes it; the boundary prints it
        return option

    command.get_help_option = help_option
    if command.callback is None:
        return
    signature = inspect.signature(command.callback)  # follows Typer's wrapper to the function
    for param in command.params:
        declared = signature.parameters.get(param.name)
        if declared is not None:
            conversion = _conversion(declared.annotation, declared.default)
        elif getattr(param, "is_flag", False):  # Typer's own: --install-completion, --show-completion
            conversion = _FLAG
        else:
            continue
        if conversion is not None:
            param.process_value = functools.partial(_process, param, conversion)


def _help_as_data(ctx: Any, param: Any, value: Any) -> None:
    if value and not ctx.resilient_parsing:
        raise Answer(ctx.get_help(), 0)


def _process(param: Any, conversion: _Conversion, ctx: Any, value: Any) -> Any:
    """Click's Parameter.process_value, with tshape's conversion for Typer's."""
    if isinstance(value, (list, tuple)):
        value = [_convert(conversion, param, ctx.command_path, v) for v in value] or None
    elif value is not None:
        value = _convert(conversion, param, ctx.command_path, value)
    if param.required and param.value_is_missing(value):
        raise click.exceptions.MissingParameter(ctx=ctx, param=param)
    if param.callback is not None:
        value = param.callback(ctx, param, value)
    return value


# -1, -2.5, -.5, -inf, -nan, -(1), -[1]: a TENSOR, never an option (all options are letters)
_NEGATIVE = re.compile(r"-(?:[0-9.(\[]|(?:inf|nan|Infinity|NaN)$)")


class Command(TyperCommand):
    """A tshape command: values converted by tshape, extra arguments reported as data, and a
    TENSOR that may be a negative number (`tshape unsqueeze -1` reads the scalar -1, where
    Click alone would look for an option named -1)."""

    def make_parser(self, ctx: Any) -> Any:
        # Built once per command: `tshape run` parses a thousand lines with it. The parser's
        # state is per call (parse_args); only its context is the line's.
        parser = self.__dict__.get("_parser")
        if parser is not None:
            parser.ctx = ctx
            parser.allow_interspersed_args = ctx.allow_interspersed_args
            parser.ignore_unknown_options = ctx.ignore_unknown_options
            return parser
        parser = self._parser = super().make_parser(ctx)
        process_option = parser._process_opts

        def process(arg: str, state: Any) -> None:
            if _NEGATIVE.match(arg):
                state.largs.append(arg)  # a positional argument, wherever it stands
            else:
                process_option(arg, state)

        parser._process_opts = process  # type: ignore[method-assign]
        return parser

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        allowed, ctx.allow_extra_args = ctx.allow_extra_args, True
        try:
            rest = super().parse_args(ctx, args)
        except click.exceptions.UsageError as e:
            e.ctx = e.ctx or ctx  # the parser raises some without it (BadOptionUsage)
            raise
        if ctx.args and not allowed and not ctx.resilient_parsing:
            raise UsageFailure(ctx.command_path, "usage.extra_arguments", args=" ".join(ctx.args))
        return rest  # type: ignore[no-any-return]


class Group(TyperGroup):
    """The `tshape` group: an unknown command is reported as data, with close matches."""

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        name = args[0] if args else ""
        if name and not name.startswith("-") and self.get_command(ctx, name) is None:
            if ctx.resilient_parsing:
                return None, None, args
            matches = get_close_matches(name, list(self.commands))
            if matches:
                suggest = ", ".join(map(repr, matches))
                raise UsageFailure(
                    ctx.command_path, "usage.no_such_command.suggest", name=repr(name), matches=suggest
                )
            raise UsageFailure(ctx.command_path, "usage.no_such_command", name=repr(name))
        return super().resolve_command(ctx, args)


def with_parameters(
    command: Callable[..., Any], extra: Mapping[str, tuple[Any, Any]], pack: Callable[[dict[str, Any]], Any]
) -> Callable[..., Any]:
    """`command` with the parameters `extra` (name → (annotation, default)) appended to its
    signature for Typer, and their values handed to it as one `common=pack(values)`."""
    signature = inspect.signature(command)
    own = [p for p in signature.parameters.values() if p.name != "common"]
    added = [
        inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation, default=default)
        for name, (annotation, default) in extra.items()
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in extra}
        return command(*args, common=pack(values), **kwargs)

    # Typer reads the parameters from the signature: the only way to add options to it
    wrapper.__signature__ = signature.replace(parameters=[*own, *added])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *added]}
    return wrapper


@functools.cache
def click_command(app: typer.Typer, only: str | None = None) -> Any:
    """The Click command Typer builds from the app: built once per process, where `app(...)`
    would build it again on every call. With `only`, the group holds that one command: Typer
    reads every command's type hints to build it (~0.1 s for all of them, a tenth of torch's
    import), and a command line runs one command."""
    app = _with_only(app, only)
    group = typer.main.get_command(app)
    for command in [group, *getattr(group, "commands", {}).values()]:
        _bind(command)  # once the tree is whole: Typer adds its completion options last
    return group


def _with_only(app: typer.Typer, name: str | None) -> typer.Typer:
    """The app without its result callback (which prints: the boundary prints instead),
    and with only the command `name` when one is given."""
    one = copy.copy(app)
    one.info = copy.copy(app.info)
    one.info.result_callback = None
    if name is not None:
        one.registered_commands = [c for c in app.registered_commands if _name(c) == name]
        one.registered_groups = [g for g in app.registered_groups if g.name == name]
    return one


def _name(command: Any) -> str:
    return command.name or typer.main.get_command_name(command.callback.__name__)


def command_names(app: typer.Typer) -> set[str]:
    """Every command's and group's name, without building anything."""
    return {_name(c) for c in app.registered_commands} | {g.name for g in app.registered_groups if g.name}


def run(app: typer.Typer, args: list[str]) -> Any:
    """Parse one command line and return what its command returned (a Job, an Outcome);
    Click's usage errors come out as UsageFailure, a text to print as Answer."""
    # one command's line builds only that command (`run` dispatches lines: it needs them all)
    only = args[0] if args and args[0] != "run" and args[0] in command_names(app) else None
    try:
        return click_command(app, only).main(args=args, prog_name="tshape", standalone_mode=False)
    except click.exceptions.UsageError as e:
        raise failure(e) from None


class Answer(Exception):
    """A text that is the whole answer, with its exit code: --help and --version (0), and
    `tshape` alone (its help, exit 2). Printed by the boundary, not by Click."""

    def __init__(self, text: str, code: int) -> None:
        super().__init__(text)
        self.text = text
        self.code = code


def failure(e: Any) -> Exception:
    """A UsageFailure read from the attributes of one of Click's usage errors."""
    ctx = getattr(e, "ctx", None)
    where = ctx.command_path if ctx is not None else "tshape"
    if isinstance(e, click.exceptions.NoArgsIsHelpError):
        return Answer(e.format_message(), 2)
    if isinstance(e, click.exceptions.NoSuchOption):
        if e.possibilities:
            options = ", ".join(sorted(e.possibilities))
            return UsageFailure(where, "usage.no_such_option.suggest", name=e.option_name, options=options)
        return UsageFailure(where, "usage.no_such_option", name=e.option_name)
    if isinstance(e, click.exceptions.BadOptionUsage):
        params = ctx.command.params if ctx is not None else []
        flag = any(e.option_name in p.opts and getattr(p, "is_flag", False) for p in params)
        msg_id = "usage.takes_no_value" if flag else "usage.requires_argument"
        return UsageFailure(where, msg_id, name=repr(e.option_name))
    if isinstance(e, click.exceptions.MissingParameter) and e.param is not None:
        kind = "usage.missing_option" if e.param.param_type_name == "option" else "usage.missing_argument"
        return UsageFailure(where, kind, name=hint(e.param))
    if isinstance(e, click.exceptions.BadParameter) and e.param is not None:  # a conversion of Typer's
        return UsageFailure(where, "usage.invalid_value", name=hint(e.param), message=e.message)
    return UsageFailure(where, "usage.as_written", message=e.format_message())
