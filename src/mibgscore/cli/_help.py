"""`--help` in plain words: help paragraphs re-flowed, value types named as a user would.

Typer keeps the line breaks of a docstring's later paragraphs, so a sentence wrapped at 100
columns in the source shows broken mid-line in the terminal; it also prints a placeholder
``<bool>`` after flags (which take no value: ``--json``, never ``--json=false``) and Python
types (``<list[Path]>``). :func:`tidy` fixes all three for every command registered, whoever
wrote it.
"""

from __future__ import annotations

import inspect
import re

import typer

_TYPES = {"str": "text", "float": "number", "int range": "int", "float range": "number",
          "Path": "path"}


def reflow(text: str | None) -> str | None:
    """Join the lines of each paragraph (blank-line separated) into one line.

    Lines starting a list item (``-``, ``*``, ``1.``) or a ``\\b`` block keep their breaks.

    Examples
    --------
    >>> reflow("Writes a.csv\\n(grades), b.csv.\\n\\nSecond\\nparagraph.")
    'Writes a.csv (grades), b.csv.\\n\\nSecond paragraph.'
    """
    if not text:
        return text
    text = inspect.cleandoc(text)
    head, sep, tail = text.partition("\f")
    paragraphs = []
    for para in head.split("\n\n"):
        lines = para.split("\n")
        if para.startswith("\b") or any(re.match(r"\s*([-*]|\d+\.)\s", x) for x in lines):
            paragraphs.append(para)
        else:
            paragraphs.append(" ".join(x.strip() for x in lines if x.strip()))
    return "\n\n".join(paragraphs) + sep + tail


def plain_type(label: str | None) -> str | None:
    """A help type label as a user reads it: ``<list[Path]>`` as ``<path>...``.

    Examples
    --------
    >>> plain_type("<list[Path]>"), plain_type("<str>"), plain_type("<int range>")
    ('<path>...', '<text>', '<int>')
    """
    if not label or not label.startswith("<"):
        return label
    many = re.fullmatch(r"<list\[(.+)\]>(\.\.\.)?", label)
    if many:
        return f"<{_TYPES.get(many[1], many[1].lower())}>..."
    inner = label[1:].split(">", 1)
    return f"<{_TYPES.get(inner[0], inner[0])}>{inner[1] if len(inner) > 1 else ''}"


def _patch_types() -> None:
    """Flags show no value placeholder; the others a plain type (once per process)."""
    from typer.core import TyperArgument, TyperOption

    if getattr(TyperOption, "_mibgscore_plain", False):
        return
    option_type, argument_type = TyperOption.display_type_rich, TyperArgument.display_type_rich

    def option(self, ctx):
        if self.is_flag and not self.count:
            return None
        return plain_type(option_type(self, ctx))

    def argument(self, ctx):
        return plain_type(argument_type(self, ctx))

    TyperOption.display_type_rich = option
    TyperArgument.display_type_rich = argument
    TyperOption._mibgscore_plain = True


def tidy(app: typer.Typer) -> None:
    """Re-flow the help of every command and group of ``app`` and plain its type labels."""
    _patch_types()
    for info in app.registered_commands:
        info.help = reflow(info.help or inspect.getdoc(info.callback))
    for group in app.registered_groups:
        sub = group.typer_instance
        if group.help:
            group.help = reflow(group.help)
        if sub is not None:
            if isinstance(sub.info.help, str):
                sub.info.help = reflow(sub.info.help)
            tidy(sub)
