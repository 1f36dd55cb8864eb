"""Running the examples of README.md and docs/*.md, so that they cannot go stale.

A Markdown file is read into its fenced blocks, in document order:

- ```bash / ```sh / ```shell blocks: every line is a command (``\\`` continues a line, ``#`` starts
  a comment); the block shows no output.
- ```console blocks: a line starting with ``$ `` is a command, the lines under it are its output as
  the document shows it. The output is compared with what the command printed (stdout, then
  stderr), line by line with runs of white space made one space and blank lines dropped; a line
  ``...`` stands for any number of lines, and ``...`` inside a line for any text.
- ```python blocks: run with ``exec`` in the example's directory.

A block is run when it contains a ``leadrelay`` command (command blocks) or always (python). HTML
comments on their own lines before a block, which a reader of the rendered page does not see,
change that:

- ``<!-- docs-test: skip REASON -->``: the block is not run (a reason is required);
- ``<!-- docs-test: exit N -->``: every command of the block must exit with N (default 0);
- ``<!-- docs-test: file PATH -->``: the block's text is the file PATH of the example's directory
  (a mapping or a playbook the other examples use); files are written before any command runs;
- ``<!-- docs-test: setup`` then shell lines, then ``-->``: commands run before the block, to make
  what it needs (an input file, a copy of the default playbook).

``leadrelay`` commands run in this process (the real entry point, ``main``), with the example's
environment; variable assignments and ``export`` change that environment, ``$NAME`` is expanded,
and any other command runs in ``bash``.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

COMMAND_LANGS = frozenset({"bash", "sh", "shell", "console"})
MARKER = re.compile(r"<!--\s*docs-test:\s*(?P<kind>[a-z]+)(?P<rest>.*?)(?:-->|$)", re.DOTALL)
FENCE = re.compile(r"^(?P<fence>```+)(?P<lang>[\w+-]*)\s*$")
VARIABLE = re.compile(r"\$(?:\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


class DocError(Exception):
    """A document's markers or blocks cannot be read as examples."""


@dataclass
class Command:
    text: str  # as written (continuations joined)
    line: int  # where it starts in the document
    expected: list[str] | None = None  # the output the document shows (console blocks)


@dataclass
class Block:
    path: Path
    line: int  # the line of the opening fence
    lang: str
    text: str
    skip: str | None = None
    exit_code: int = 0
    file: str | None = None
    setup: list[str] = field(default_factory=list)
    commands: list[Command] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"{self.path.name}:{self.line}"

    @property
    def runs_leadrelay(self) -> bool:
        return any(_words(c.text)[:1] == ["leadrelay"] or "leadrelay " in c.text for c in self.commands)


def read_blocks(path: Path) -> list[Block]:
    """Every fenced block of a Markdown file with the markers before it."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    pending: list[tuple[str, str, int]] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("<!--") and "docs-test" in line:
            start = i
            chunk = line
            while "-->" not in chunk and i + 1 < len(lines):
                i += 1
                chunk += "\n" + lines[i]
            match = MARKER.search(chunk)
            if match is None or "-->" not in chunk:
                raise DocError(f"{path.name}:{start + 1}: unreadable docs-test marker")
            pending.append((match["kind"], match["rest"].strip(), start + 1))
            i += 1
            continue
        fence = FENCE.match(line)
        if fence is None:
            if line.strip() and pending:
                raise DocError(f"{path.name}:{pending[0][2]}: a docs-test marker must come right before a block")
            i += 1
            continue
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and not lines[i].startswith(fence["fence"]):
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise DocError(f"{path.name}:{start + 1}: the block is not closed")
        block = Block(path, start + 1, fence["lang"], "\n".join(body) + "\n")
        for kind, rest, at in pending:
            _apply_marker(block, kind, rest, f"{path.name}:{at}")
        pending = []
        if block.lang in COMMAND_LANGS:
            block.commands = _commands(block, body)
        blocks.append(block)
        i += 1
    if pending:
        raise DocError(f"{path.name}:{pending[0][2]}: a docs-test marker with no block after it")
    return blocks


def _apply_marker(block: Block, kind: str, rest: str, where: str) -> None:
    if kind == "skip":
        if not rest:
            raise DocError(f"{where}: say why the block is skipped: <!-- docs-test: skip REASON -->")
        block.skip = rest
    elif kind == "exit":
        if not rest.isdigit():
            raise DocError(f"{where}: docs-test: exit needs a number, not {rest!r}")
        block.exit_code = int(rest)
    elif kind == "file":
        if not rest or Path(rest).is_absolute() or ".." in Path(rest).parts:
            raise DocError(f"{where}: docs-test: file needs a relative path, not {rest!r}")
        block.file = rest
    elif kind == "setup":
        block.setup.extend(line for line in rest.splitlines() if line.strip())
    else:
        raise DocError(f"{where}: unknown docs-test marker {kind!r} (skip, exit, file, setup)")


def _commands(block: Block, body: list[str]) -> list[Command]:
    commands: list[Command] = []
    console = block.lang == "console"
    current: Command | None = None
    continued = False
    for offset, raw in enumerate(body, start=block.line + 1):
        if continued and current is not None:
            current.text = current.text[:-1].rstrip() + " " + raw.strip()
        elif console and raw.startswith("$ "):
            current = Command(raw[2:].strip(), offset, [])
            commands.append(current)
        elif console:
            if current is None:
                if raw.strip():
                    raise DocError(f"{block.path.name}:{offset}: console output before any '$ ' command")
                continue
            assert current.expected is not None
            current.expected.append(raw)
            continue
        elif raw.strip() and not raw.lstrip().startswith("#"):
            current = Command(raw.strip(), offset)
            commands.append(current)
        else:
            continue
        continued = current.text.endswith("\\")
    return commands


def _words(text: str) -> list[str]:
    try:
        return shlex.split(text, comments=True)
    except ValueError:
        return []


def normalise(text: str) -> list[str]:
    """Lines with runs of white space made one space; blank lines dropped."""
    return [" ".join(line.split()) for line in text.splitlines() if line.strip()]


def output_matches(expected: list[str], actual: str) -> bool:
    """Whether the output is what the document shows, ``...`` eliding lines or parts of a line."""
    parts: list[str] = []
    for line in normalise("\n".join(expected)):
        if line == "...":
            parts.append(r"(?:[^\n]*\n)*?")
        else:
            parts.append(".*?".join(re.escape(piece.strip()) for piece in line.split("...")) + r"\n")
    pattern = "".join(parts)
    text = "".join(line + "\n" for line in normalise(actual))
    return re.fullmatch(pattern, text) is not None


@dataclass
class Outcome:
    code: int
    output: str  # stdout, then stderr


class Example:
    """The directory and environment a document's examples run in, one command after another."""

    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env

    def run(self, text: str) -> Outcome:
        words = _words(self.expand(text))
        if not words:
            return Outcome(0, "")
        assignments = words[1:] if words[0] == "export" else words
        if all(ASSIGNMENT.match(word) for word in assignments):
            for word in assignments:
                name, _, value = word.partition("=")
                self.env[name] = value
            return Outcome(0, "")
        if words[0] == "leadrelay":
            return self.leadrelay(words[1:])
        return self.shell(self.expand(text))

    def expand(self, text: str) -> str:
        return VARIABLE.sub(lambda m: self.env.get(m["braced"] or m["plain"], ""), text)

    def leadrelay(self, args: list[str]) -> Outcome:
        from leadrelay.entrypoints.cli.app import main

        out, err = io.StringIO(), io.StringIO()
        code: int | str | None = 0
        with self.environment(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            sys.argv = ["leadrelay", *args]
            try:
                main()
            except SystemExit as exc:
                code = exc.code
        if code is None:
            code = 0
        if isinstance(code, str):
            err.write(code + "\n")
            code = 1
        return Outcome(code, out.getvalue() + err.getvalue())

    def shell(self, text: str) -> Outcome:
        env = dict(self.env)
        env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
        done = subprocess.run(
            ["bash", "-c", text], cwd=self.directory, env=env, capture_output=True, text=True, timeout=300
        )
        return Outcome(done.returncode, done.stdout + done.stderr)

    def python(self, source: str, name: str) -> None:
        with self.environment(), contextlib.redirect_stdout(io.StringIO()):
            exec(compile(source, name, "exec"), {"__name__": "__docs__"})

    @contextlib.contextmanager
    def environment(self) -> Iterator[None]:
        saved_env, saved_argv, saved_cwd = dict(os.environ), list(sys.argv), Path.cwd()
        os.environ.clear()
        os.environ.update(self.env)
        os.chdir(self.directory)
        try:
            yield
        finally:
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
            sys.argv = saved_argv
