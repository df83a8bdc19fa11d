"""The README's API examples, run against the real app: what the README says an example returns is what it returns.

Three sections of README.md are read (found by their headings) and every example in them is executed:

- "From Python (`gradio_client`)": the ```python block runs statement by statement, as written, with a real
  ``gradio_client.Client`` on the live app (the README's ``http://127.0.0.1:7860`` becomes the live URL, and
  ``verbose=False`` is added). Each statement's comment (trailing, or the comment-only lines right below it) is
  its claim; see ``check_comment`` for how a comment is read. The prose's AppError example and its
  ``client.view_api()`` sentence are checked too.
- "With curl (Gradio's two-step HTTP API)" and "The original REST routes": each ```bash line is a small shell
  program this test interprets: ``curl`` is performed with httpx (same method, headers, body; the URL moved to
  the live app), ``VAR=$(curl … | python -c '…')`` pipes the answer through the README's own Python code, and
  ``$VAR`` is substituted. ``# event: …`` / ``# data: …`` comments are compared with the event stream;
  ``# 404 {…} more words`` comments with the status code (200 when none is written) and the JSON body.

Comparisons are exact, except where the README abbreviates: a trailing ``...``/``…`` in a list means "these are
the first items", as an entry of a dict "these keys among others", at the end of a string "starts with this".
A dict or list written without one claims to be complete. A line or section the test cannot read fails with the
README line number, so nothing is skipped silently.
"""
from __future__ import annotations

import ast
import io
import json
import re
import shlex
import subprocess
import sys
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOC_URL = "http://127.0.0.1:7860"  # where the README says the app runs

PYTHON_SECTION = "From Python (`gradio_client`)"
CURL_SECTION = "With curl (Gradio's two-step HTTP API)"
REST_SECTION = "The original REST routes"


class ReadmeError(AssertionError):
    """The README cannot be read as this test expects (a missing section, a line it does not know how to run)."""


# ----------------------------------------------------------------------------------------- Markdown structure


@dataclass
class Block:
    lang: str
    first_line: int  # README line number of the block's first code line
    text: str


@dataclass
class Section:
    title: str
    line: int  # README line number of the heading
    text: str  # everything under the heading, up to the next heading of the same or a higher level
    blocks: list[Block] = field(default_factory=list)

    def line_of(self, offset: int) -> int:
        """README line number of a character offset in ``text``."""
        return self.line + 1 + self.text.count("\n", 0, offset)

    def code(self, lang: str) -> list[Block]:
        blocks = [block for block in self.blocks if block.lang == lang]
        if not blocks:
            raise ReadmeError(f"README.md:{self.line}: section {self.title!r} has no ```{lang} block")
        return blocks


FENCE = re.compile(r"^\s*(```+|~~~+)\s*([\w+-]*)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")


def find_section(markdown: str, title: str) -> Section:
    """The section headed exactly ``title`` (any level), with its fenced code blocks; headings inside code
    blocks are not headings."""
    lines = markdown.splitlines()
    found: list[tuple[int, int]] = []  # (index, level)
    headings: list[tuple[int, int]] = []
    fence = None
    for index, line in enumerate(lines):
        if fence:
            if line.strip().startswith(fence):
                fence = None
            continue
        if match := FENCE.match(line):
            fence = match.group(1)
            continue
        if match := HEADING.match(line):
            headings.append((index, len(match.group(1))))
            if match.group(2) == title:
                found.append((index, len(match.group(1))))
    if len(found) != 1:
        raise ReadmeError(f"README.md has {len(found)} sections headed {title!r} (expected exactly one)")
    start, level = found[0]
    end = next((index for index, other in headings if index > start and other <= level), len(lines))
    section = Section(title, start + 1, "\n".join(lines[start + 1:end]))
    fence, lang, body, first = None, "", [], 0
    for index in range(start + 1, end):
        line = lines[index]
        if fence is None:
            if match := FENCE.match(line):
                fence, lang, body, first = match.group(1), match.group(2), [], index + 2
        elif line.strip().startswith(fence):
            section.blocks.append(Block(lang, first, "\n".join(body) + "\n"))
            fence = None
        else:
            body.append(line)
    if fence is not None:
        raise ReadmeError(f"README.md:{first - 1}: code block in {title!r} is never closed")
    return section


def readme_section(title: str) -> Section:
    return find_section(README.read_text(encoding="utf-8"), title)


# --------------------------------------------------------------------------------------- reading the claims


@dataclass(frozen=True)
class Head:
    """A list shown as its first items, then ``...``."""
    items: tuple


@dataclass(frozen=True)
class Some:
    """A dict shown as some of its keys, then ``...``."""
    entries: dict


@dataclass(frozen=True)
class Prefix:
    """A string cut short with ``…`` or ``...``."""
    text: str


NO_LITERAL = object()
NAMES = {"true": True, "false": False, "null": None, "True": True, "False": False, "None": None}


def pythonise(text: str) -> str:
    """JSON/Python as the README abbreviates it, made parseable: a bare ``…`` becomes ``...``, and a ``...``
    that closes a dict becomes the entry ``...: ...`` (read back as "more keys"). Strings are left alone."""
    out, index, quote = [], 0, None
    while index < len(text):
        char = text[index]
        if quote:
            out.append(char)
            if char == "\\" and index + 1 < len(text):
                out.append(text[index + 1])
                index += 1
            elif char == quote:
                quote = None
            index += 1
            continue
        if char in "'\"":
            quote = char
        elif char == "…" or text.startswith("...", index):
            index += 1 if char == "…" else 3
            out.append("...: ..." if text[index:].lstrip().startswith("}") else "...")
            continue
        out.append(char)
        index += 1
    return "".join(out)


def to_claim(node: ast.AST) -> Any:
    """A literal (Python or JSON spelling, with the abbreviations above) as a value to compare; anything else
    (a name, a call, arithmetic) is not a literal."""
    if isinstance(node, ast.Constant) and node.value is not Ellipsis:
        if isinstance(node.value, str) and node.value.endswith(("…", "...")):
            return Prefix(node.value.removesuffix("…").removesuffix("..."))
        return node.value
    if isinstance(node, ast.Name) and node.id in NAMES:
        return NAMES[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
            and type(node.operand.value) in (int, float):
        return -node.operand.value
    if isinstance(node, (ast.List, ast.Tuple)):
        items = list(node.elts)
        more = bool(items) and isinstance(items[-1], ast.Constant) and items[-1].value is Ellipsis
        values = tuple(to_claim(item) for item in (items[:-1] if more else items))
        return Head(values) if more else (list(values) if isinstance(node, ast.List) else values)
    if isinstance(node, ast.Dict):
        entries, more = {}, False
        for key, value in zip(node.keys, node.values):
            if key is None:
                raise ValueError("** in a dict")
            if isinstance(key, ast.Constant) and key.value is Ellipsis:
                more = True
                continue
            entries[to_claim(key)] = to_claim(value)
        return Some(entries) if more else entries
    raise ValueError(f"not a literal: {ast.dump(node)[:60]}")


def parse_literal(text: str) -> Any:
    return to_claim(ast.parse(pythonise(text.strip()), mode="eval").body)


def leading_literal(text: str) -> tuple[Any, str]:
    """The longest prefix of ``text`` that is a literal, and the words after it (``NO_LITERAL`` when none)."""
    text = text.strip()
    for end in range(len(text), 0, -1):
        if end < len(text) and not (text[end].isspace() or text[end] in "([{:,"):
            continue  # cut only between tokens: "4.6937" is not read as 4.69
        try:
            return parse_literal(text[:end]), text[end:].strip()
        except (SyntaxError, ValueError):
            continue
    return NO_LITERAL, text


def short(value: Any, limit: int = 200) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + f"… ({len(text)} characters)"


def differences(claim: Any, actual: Any, where: str = "") -> list[str]:
    """How ``actual`` differs from what the README claims (empty when it agrees)."""
    shown = where or "the answer"
    if isinstance(claim, Prefix):
        if isinstance(actual, str) and actual.startswith(claim.text):
            return []
        return [f"{shown}: README shows {claim.text!r}…, the app returned {short(actual)}"]
    if isinstance(claim, (Some, dict)):
        entries = claim.entries if isinstance(claim, Some) else claim
        if not isinstance(actual, dict):
            return [f"{shown}: README shows a dict, the app returned {short(actual)}"]
        problems = []
        if isinstance(claim, dict) and set(actual) != set(claim):
            problems.append(f"{shown}: README shows the keys {sorted(claim)} (no '...'), the app returned "
                            f"{sorted(actual)}")
        for key, value in entries.items():
            if key not in actual:
                problems.append(f"{shown}: README shows the key {key!r}, the app's answer has no such key")
            else:
                problems += differences(value, actual[key], f"{where}[{key!r}]")
        return problems
    if isinstance(claim, (Head, list, tuple)):
        items = list(claim.items if isinstance(claim, Head) else claim)
        if not isinstance(actual, (list, tuple)):
            return [f"{shown}: README shows a list, the app returned {short(actual)}"]
        if isinstance(claim, Head) and len(actual) < len(items):
            return [f"{shown}: README shows at least {len(items)} items, the app returned {len(actual)}"]
        if not isinstance(claim, Head) and len(actual) != len(items):
            return [f"{shown}: README shows {len(items)} items (no '...'), the app returned {len(actual)}: "
                    f"{short(actual)}"]
        return [problem for index, item in enumerate(items) for problem in differences(item, actual[index],
                                                                                      f"{where}[{index}]")]
    same_type = (type(claim) is bool) == (type(actual) is bool) and (
        claim is None and actual is None
        or isinstance(claim, str) and isinstance(actual, str)
        or type(claim) in (int, float, bool) and type(actual) in (int, float, bool))
    if same_type and claim == actual:
        return []
    return [f"{shown}: README says {claim!r}, the app returned {short(actual)}"]


def leaves(value: Any) -> list[Any]:
    """Every number, string and bool inside an answer."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    if isinstance(value, (list, tuple)):
        return [leaf for item in value for leaf in leaves(item)]
    return [value]


NUMBER = re.compile(r"(?<![\w.])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?![\w])|(?<![\w.,])\d+(?:\.\d+)?(?![\w])")


def check_note(note: str, answer: Any) -> list[str]:
    """Words after the value, e.g. ``(203 votes)`` or ``(hybrid)``: every number in them must be a value in the
    line's full answer, and a note that is one word in parentheses must be one of its strings. Other words
    (units, "not a month") are for people and are not compared."""
    problems, values = [], leaves(answer)
    for number in NUMBER.findall(note):
        wanted = float(number.replace(",", ""))
        if not any(type(leaf) in (int, float) and leaf == wanted for leaf in values):
            problems.append(f"the note {note!r} mentions {number}, which is no value of the app's answer")
    word = re.fullmatch(r"\(\s*([A-Za-z][\w-]*)\s*\)", note)
    if word and word.group(1) not in values:
        problems.append(f"the note {note!r} names {word.group(1)!r}, which is no value of the app's answer")
    return problems


def check_comment(comment: str, value: Any, answer: Any) -> list[str]:
    """A Python example's comment against its value. ``# 2053``, ``# {...}``: the leading literal is compared
    with the value (``differences``), and the words after it are a note (``check_note``, against the full answer
    of the line's ``client.predict``). A comment that starts with no literal (``# per-film dict``) describes the
    value: it must not be None, must be a dict/list if it says so, and its numbers are notes."""
    claim, rest = leading_literal(comment)
    if claim is NO_LITERAL:
        problems = [] if value is not None else ["the README describes a value, the example returned None"]
        for word, kind in (("dict", dict), ("list", (list, tuple))):
            if re.search(rf"\b{word}\b", rest) and not isinstance(value, kind):
                problems.append(f"the README says {word}, the example returned {type(value).__name__}")
    else:
        problems = differences(claim, value)
    return problems + check_note(rest, answer if answer is not None else value)


# ------------------------------------------------------------------------------------------ Python examples


@dataclass
class PythonExample:
    line: int  # README line of the statement
    node: ast.stmt
    code: str
    comment: str  # "" when the statement has none
    comment_line: int


def python_examples(block: Block) -> list[PythonExample]:
    """Each top-level statement of the block with its comment: the comments on its own lines, or the
    comment-only lines right below it. A comment that belongs to no statement is an error."""
    try:
        tree = ast.parse(block.text)
    except SyntaxError as error:
        raise ReadmeError(f"README.md:{block.first_line + (error.lineno or 1) - 1}: python block does not parse: "
                          f"{error.msg}") from error
    lines = block.text.splitlines()
    comments = {token.start[0]: token.string.lstrip("#").strip()
                for token in tokenize.generate_tokens(io.StringIO(block.text).readline)
                if token.type == tokenize.COMMENT}
    claimed: set[int] = set()
    examples = []
    for stmt in tree.body:
        rows = [row for row in range(stmt.lineno, stmt.end_lineno + 1) if row in comments]
        row = stmt.end_lineno + 1
        while row <= len(lines) and lines[row - 1].strip().startswith("#"):
            rows.append(row)
            row += 1
        claimed.update(rows)
        examples.append(PythonExample(
            line=block.first_line + stmt.lineno - 1, node=stmt,
            code="\n".join(lines[stmt.lineno - 1:stmt.end_lineno]).split("  #")[0].strip(),
            comment=" ".join(comments[row] for row in rows),
            comment_line=block.first_line + (rows[0] if rows else stmt.lineno) - 1))
    for row in sorted(set(comments) - claimed):
        raise ReadmeError(f"README.md:{block.first_line + row - 1}: comment {comments[row]!r} belongs to no "
                          "example")
    return examples


class LiveURL(ast.NodeTransformer):
    """The README's http://127.0.0.1:7860 becomes the live app's URL."""

    def __init__(self, url: str):
        self.url = url

    def visit_Constant(self, node: ast.Constant) -> ast.Constant:
        if isinstance(node.value, str) and node.value.startswith(DOC_URL):
            return ast.copy_location(ast.Constant(self.url + node.value[len(DOC_URL):]), node)
        return node


class RecordingClient:
    """The README's ``client``: answers as the real one does, and keeps each ``predict`` answer so a note
    such as ``(203 votes)`` can be checked against the full answer, not just the part the example prints."""

    def __init__(self, client: Any, answers: list):
        self._client, self._answers = client, answers

    def predict(self, *args, **kwargs):
        answer = self._client.predict(*args, **kwargs)
        self._answers.append(answer)
        return answer

    def __getattr__(self, name: str):
        return getattr(self._client, name)


@dataclass
class Outcome:
    examples: int = 0  # statements / command lines executed
    checked: int = 0  # of them, with a claim compared
    failures: list[str] = field(default_factory=list)
    namespace: dict = field(default_factory=dict)


def run_python_block(block: Block, url: str, make_client: Callable[..., Any]) -> Outcome:
    """Execute every statement in order; ``make_client`` stands in for ``gradio_client.Client`` once the
    README has imported it."""
    from gradio_client import Client

    outcome = Outcome(namespace={"__name__": "readme_example"})
    namespace, answers = outcome.namespace, []
    for example in python_examples(block):
        answers.clear()
        node = ast.fix_missing_locations(LiveURL(url).visit(ast.parse(ast.unparse(example.node)).body[0]))
        ast.increment_lineno(node, example.line - 1)
        try:
            if isinstance(node, ast.Expr):
                value = eval(compile(ast.Expression(node.value), str(README), "eval"), namespace)
            else:
                exec(compile(ast.Module([node], type_ignores=[]), str(README), "exec"), namespace)
                targets = node.targets if isinstance(node, ast.Assign) else []
                value = namespace[targets[0].id] if len(targets) == 1 and isinstance(targets[0], ast.Name) else None
        except Exception as error:  # noqa: BLE001 - reported with the README line
            outcome.failures.append(f"README.md:{example.line}: `{example.code}` raised "
                                    f"{type(error).__name__}: {error}")
            continue
        finally:
            outcome.examples += 1
        if namespace.get("Client") is Client:  # the README's own import; the test adds verbose=False
            namespace["Client"] = lambda *args, **kwargs: RecordingClient(make_client(*args, **kwargs), answers)
        if example.comment:
            outcome.checked += 1
            for problem in check_comment(example.comment, value, answers[-1] if answers else None):
                outcome.failures.append(f"README.md:{example.comment_line}: `{example.code}`  # {example.comment}"
                                        f"\n    {problem}")
    return outcome


# -------------------------------------------------------------------------------------------- shell examples


@dataclass
class Command:
    line: int
    text: str
    comments: list[tuple[int, str]]


def split_comment(line: str) -> tuple[str, str | None]:
    """A shell line and its trailing ``# comment`` (a ``#`` that starts a word outside quotes)."""
    quote = None
    for index, char in enumerate(line):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1].isspace()):
            return line[:index].rstrip(), line[index + 1:].strip()
    return line.rstrip(), None


def shell_commands(block: Block) -> list[Command]:
    """Logical lines (``\\`` continuations joined), each with its trailing comment and the comment-only lines
    below it."""
    commands: list[Command] = []
    pending = ""
    for offset, raw in enumerate(block.text.splitlines()):
        line_number = block.first_line + offset
        if not pending and not raw.strip():
            continue
        code, comment = split_comment(raw)
        if not pending and not code:
            if not commands:
                raise ReadmeError(f"README.md:{line_number}: comment {comment!r} belongs to no command")
            commands[-1].comments.append((line_number, comment))
            continue
        if not pending:
            commands.append(Command(line_number, "", []))
        if code.endswith("\\"):
            pending += code[:-1] + " "
            continue
        commands[-1].text = (pending + code).strip()
        pending = ""
        if comment is not None:
            commands[-1].comments.append((line_number, comment))
    if pending:
        raise ReadmeError(f"README.md:{commands[-1].line}: command ends with a line continuation")
    return commands


def split_pipeline(text: str) -> list[str]:
    stages, quote, start = [], None, 0
    for index, char in enumerate(text):
        if quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "|":
            stages.append(text[start:index].strip())
            start = index + 1
    return stages + [text[start:].strip()]


@dataclass
class ShellRun:
    http: httpx.Client
    url: str
    variables: dict = field(default_factory=dict)

    def substitute(self, text: str, line: int) -> str:
        def value(match: re.Match) -> str:
            name = match.group(1) or match.group(2)
            if name not in self.variables:
                raise ReadmeError(f"README.md:{line}: ${name} is used before it is set")
            return self.variables[name]

        return re.sub(r"\$\{(\w+)\}|\$(\w+)", value, text)

    def curl(self, text: str, line: int) -> httpx.Response:
        """curl as the README uses it (-s, -i, -X, -H, -d), performed with httpx on the live app."""
        tokens = shlex.split(text)
        method, headers, data, url = None, {}, None, None
        arguments = iter(tokens[1:])
        for token in arguments:
            if token in ("-s", "--silent", "-i", "--include"):
                continue
            if token in ("-X", "--request"):
                method = next(arguments)
            elif token in ("-H", "--header"):
                name, _, header = next(arguments).partition(":")
                headers[name.strip()] = header.strip()
            elif token in ("-d", "--data"):
                data = next(arguments)
            elif token.startswith("-"):
                raise ReadmeError(f"README.md:{line}: curl option {token!r} is not one this test knows")
            elif url is not None:
                raise ReadmeError(f"README.md:{line}: curl with two URLs")
            elif not token.startswith(DOC_URL):
                raise ReadmeError(f"README.md:{line}: curl URL {token!r} is not on {DOC_URL}")
            else:
                url = self.url + token[len(DOC_URL):]
        if url is None:
            raise ReadmeError(f"README.md:{line}: curl without a URL")
        return self.http.request(method or ("POST" if data is not None else "GET"), url, headers=headers,
                                 content=data)

    def run(self, command: Command) -> httpx.Response | None:
        """Run one line: ``curl …`` (returns the response) or ``NAME=$(curl … | python -c '…')``."""
        text = self.substitute(command.text, command.line)
        if text.startswith("curl "):
            return self.curl(text, command.line)
        assignment = re.fullmatch(r"(\w+)=\$\((.*)\)", text, re.S)
        if not assignment:
            raise ReadmeError(f"README.md:{command.line}: this test does not know how to run `{command.text}`")
        stages = split_pipeline(assignment.group(2))
        if not stages[0].startswith("curl "):
            raise ReadmeError(f"README.md:{command.line}: a $(...) that does not start with curl")
        response = self.curl(stages[0], command.line)
        if response.status_code != 200:
            raise AssertionError(f"README.md:{command.line}: `{stages[0]}` answered {response.status_code}: "
                                 f"{response.text[:300]}")
        output = response.text
        for stage in stages[1:]:
            tokens = shlex.split(stage)
            if tokens[:2] not in (["python", "-c"], ["python3", "-c"]) or len(tokens) != 3:
                raise ReadmeError(f"README.md:{command.line}: pipeline stage `{stage}` is not `python -c '...'`")
            done = subprocess.run([sys.executable, "-c", tokens[2]], input=output, capture_output=True, text=True,
                                  timeout=60)
            if done.returncode:
                raise AssertionError(f"README.md:{command.line}: `{stage}` failed: {done.stderr[-500:]}")
            output = done.stdout
        self.variables[assignment.group(1)] = output.strip()
        if not self.variables[assignment.group(1)]:
            raise AssertionError(f"README.md:{command.line}: ${assignment.group(1)} came out empty")
        return None


SSE_FIELD = re.compile(r"(event|data|id|retry):\s?(.*)")


def last_event(stream: str) -> dict[str, str]:
    """The final event of a server-sent-event stream (Gradio ends /call streams with complete or error)."""
    events = []
    for chunk in re.split(r"\r?\n\r?\n", stream.strip()):
        fields: dict[str, str] = {}
        for line in chunk.splitlines():
            if match := SSE_FIELD.fullmatch(line):
                fields[match.group(1)] = fields.get(match.group(1), "") + match.group(2)
        if fields:
            events.append(fields)
    return events[-1] if events else {}


def check_response(comments: list[tuple[int, str]], response: httpx.Response) -> list[str]:
    """A curl line's comments against its response. ``# event: x`` / ``# data: [...]`` lines are compared with
    the stream's last event (data as a literal, abbreviations allowed). Otherwise the comment is
    ``[status] [body literal] [words]``: the status (200 when none is written), the JSON body, and the numbers
    in the words (``check_note``)."""
    problems = []
    sse = [(line, match) for line, text in comments if (match := SSE_FIELD.fullmatch(text))]
    if sse:
        if response.status_code != 200:
            problems.append(f"README.md:{sse[0][0]}: the stream answered {response.status_code}")
        event = last_event(response.text)
        for line, match in sse:
            name, shown = match.groups()
            if name not in event:
                problems.append(f"README.md:{line}: README shows `{name}:`, the stream's last event has none: "
                                f"{response.text[:300]!r}")
            elif name == "data":
                claim, rest = leading_literal(shown)
                if claim is NO_LITERAL:
                    problems.append(f"README.md:{line}: `data: {shown}` is not a literal this test can compare")
                    continue
                actual = json.loads(event["data"])
                problems += [f"README.md:{line}: `data: {shown}`\n    {p}" for p in
                             differences(claim, actual) + check_note(rest, actual)]
            elif event[name] != shown:
                problems.append(f"README.md:{line}: README shows `{name}: {shown}`, the stream has "
                                f"`{name}: {event[name]}`")
        return problems
    line, text = comments[0] if comments else (None, "")
    text = " ".join(comment for _, comment in comments)
    status = re.match(r"([1-5]\d\d)\b", text)
    expected = int(status.group(1)) if status else 200
    rest = text[status.end():].lstrip(" :") if status else text
    where = f"README.md:{line}: `# {text}`" if line else "(no comment)"
    if response.status_code != expected:
        return [f"{where}\n    README says status {expected}, the app answered {response.status_code}: "
                f"{response.text[:300]}"]
    claim, rest = leading_literal(rest)
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if claim is not NO_LITERAL:
        problems += differences(claim, body)
    problems += check_note(rest, body)
    return [f"{where}\n    {problem}" for problem in problems]


def run_shell_block(block: Block, run: ShellRun) -> Outcome:
    outcome = Outcome()
    for command in shell_commands(block):
        outcome.examples += 1
        try:
            response = run.run(command)
        except ReadmeError:
            raise
        except Exception as error:  # noqa: BLE001 - reported with the README line
            outcome.failures.append(f"README.md:{command.line}: `{command.text}` failed: "
                                    f"{type(error).__name__}: {error}")
            continue
        if response is None:
            if command.comments:
                raise ReadmeError(f"README.md:{command.comments[0][0]}: a comment on an assignment, which "
                                  "this test cannot compare")
            continue
        outcome.checked += bool(command.comments)
        failures = check_response(command.comments, response)
        outcome.failures += [f"README.md:{command.line}: `{command.text}` -> {failure}" for failure in failures]
    return outcome


def assert_outcome(section: Section, outcome: Outcome) -> None:
    assert outcome.examples, f"README.md:{section.line}: section {section.title!r} yields no examples"
    assert outcome.checked, f"README.md:{section.line}: no example in {section.title!r} claims anything checkable"
    assert not outcome.failures, (f"{len(outcome.failures)} README claim(s) in {section.title!r} differ from the "
                                  "running app:\n" + "\n".join(outcome.failures))


# ------------------------------------------------------------------------------------------------ the tests


def test_python_examples_return_what_the_readme_says(live_url):
    from gradio_client import Client
    from gradio_client.exceptions import AppError

    section = readme_section(PYTHON_SECTION)
    outcome = Outcome()
    for block in section.code("python"):
        ran = run_python_block(block, live_url, lambda *args, **kwargs: Client(*args, verbose=False, **kwargs))
        outcome.examples += ran.examples
        outcome.checked += ran.checked
        outcome.failures += ran.failures
        outcome.namespace.update(ran.namespace)
    client = outcome.namespace.get("client")
    assert isinstance(client, RecordingClient), \
        f"README.md:{section.line}: the python example never creates `client = Client(...)`"

    # The prose: "raises `gradio_client.exceptions.AppError` with the same message the UI shows, e.g. `…«X»…`".
    error_example = re.search(r"raises\s+`gradio_client\.exceptions\.AppError`.*?e\.g\.\s*`([^`]*«([^»]+)»[^`]*)`",
                              section.text, re.S)
    assert error_example, f"README.md:{section.line}: the AppError example sentence is gone"
    line = section.line_of(error_example.start(1))
    outcome.checked += 1
    try:
        answer = client.predict(error_example.group(2), api_name="/score_titulo")
        outcome.failures.append(f"README.md:{line}: {error_example.group(2)!r} should raise AppError, answered "
                                f"{short(answer)}")
    except AppError as error:
        if error_example.group(1) not in str(error):
            outcome.failures.append(f"README.md:{line}: README shows the message {error_example.group(1)!r}, "
                                    f"the app raised {str(error)!r}")

    # The prose: "`client.view_api()` lists every endpoint with its parameter names and docstring".
    if "client.view_api()" in section.text:
        line = section.line_of(section.text.index("client.view_api()"))
        outcome.checked += 1
        api = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
        used = set(re.findall(r"api_name=\"(/\w+)\"", "".join(block.text for block in section.code("python"))))
        for name in sorted(used):
            if name not in api or not api[name].get("description") or \
                    any(not p.get("parameter_name") for p in api[name]["parameters"]):
                outcome.failures.append(f"README.md:{line}: view_api() does not list {name} with its parameter "
                                        "names and docstring")
    assert outcome.examples >= 10, f"README.md:{section.line}: only {outcome.examples} python statements found"
    assert_outcome(section, outcome)


def run_bash_blocks(section: Section, http: httpx.Client, live_url: str) -> Outcome:
    """Every ```bash block of a section, run against the live app, added up into one outcome."""
    outcome = Outcome()
    for block in section.code("bash"):
        ran = run_shell_block(block, ShellRun(http, live_url))
        outcome.examples += ran.examples
        outcome.checked += ran.checked
        outcome.failures += ran.failures
    return outcome


def test_two_step_curl_example_returns_what_the_readme_says(live_url):
    section = readme_section(CURL_SECTION)
    with httpx.Client(timeout=60) as http:
        outcome = run_bash_blocks(section, http, live_url)
    assert_outcome(section, outcome)


def test_rest_examples_return_what_the_readme_says(live_url):
    section = readme_section(REST_SECTION)
    with httpx.Client(timeout=60) as http:
        outcome = run_bash_blocks(section, http, live_url)
        # The prose: "OpenAPI schema at `/openapi.json`, docs at `/docs`".
        paths = list(re.finditer(r"\bat `(/[^`\s]*)`", section.text))
        assert paths, f"README.md:{section.line}: the schema/docs sentence is gone"
        for match in paths:
            outcome.examples += 1
            outcome.checked += 1
            response = http.get(live_url + match.group(1))
            if response.status_code != 200:
                outcome.failures.append(f"README.md:{section.line_of(match.start())}: GET {match.group(1)} "
                                        f"answered {response.status_code}")
            elif match.group(1).endswith(".json"):  # the schema documents every route the examples use
                documented = response.json().get("paths", {})
                routes = {m.group(1) for m in re.finditer(r"curl [^\n#]*?127\.0\.0\.1:7860/(\w+)/",
                                                          "".join(b.text for b in section.code("bash")))}
                for route in sorted(routes):
                    if not any(path.startswith(f"/{route}/") for path in documented):
                        outcome.failures.append(f"README.md:{section.line_of(match.start())}: {match.group(1)} "
                                                f"does not document /{route}/…")
    assert_outcome(section, outcome)


# ----------------------------------------------------- the checker itself (no app): it reads and it catches

FAKE_README = """# App

## Elsewhere

```python
client.predict("ignored")  # 1
```

### From Python (`gradio_client`)

```python
from gradio_client import Client

client = Client("http://127.0.0.1:7860/")
client.predict("a", api_name="/a")["n"]          # 3
client.predict("a", api_name="/a")["flag"]       # False (203 votes)
client.predict("a", api_name="/a")
# {'n': 4, 'flag': False, 'votes': 204, 'models': ['x', 'y'], 'msg': 'hello there'}
client.predict("a", api_name="/a")["models"]     # ['x', ...]   (hybrid)
client.predict("a", api_name="/a")["n"]          # per-film dict
```

## Next
"""


class FakeClient:
    def __init__(self, url: str, verbose: bool = True):
        assert url == "http://live:1/" and verbose is False

    def predict(self, *args, **kwargs):
        return {"n": 4, "flag": False, "votes": 204, "models": ["x", "y"], "msg": "hello there"}


def test_the_checker_reports_each_wrong_claim_with_its_line():
    section = find_section(FAKE_README, PYTHON_SECTION)
    assert [block.lang for block in section.blocks] == ["python"]
    outcome = run_python_block(section.blocks[0], "http://live:1",
                               lambda *args, **kwargs: FakeClient(*args, verbose=False, **kwargs))
    assert (outcome.examples, outcome.checked) == (7, 5)
    report = "\n".join(outcome.failures)
    assert "README.md:15:" in report and "README says 3, the app returned 4" in report
    assert "README.md:16:" in report and "mentions 203" in report
    assert "README.md:18:" not in report  # the full dict is right
    assert "README.md:19:" in report and "names 'hybrid'" in report
    assert "README.md:20:" in report and "says dict" in report
    assert len(outcome.failures) == 4, report


def test_the_claim_reader():
    assert leading_literal("2053") == (2053, "")
    assert leading_literal("4.6937") == (4.6937, "")
    assert leading_literal("False (203 votes)") == (False, "(203 votes)")
    assert leading_literal("per-film dict") == (NO_LITERAL, "per-film dict")
    assert leading_literal("['a', 'b']   (hybrid)") == (["a", "b"], "(hybrid)")
    assert leading_literal('{"mes":"marzo","cantidad":372,...}') == (Some({"mes": "marzo", "cantidad": 372}), "")
    assert leading_literal('{"detail": "No encontré…", "suggestions": ["A"]} x') == \
        ({"detail": Prefix("No encontré"), "suggestions": ["A"]}, "x")
    assert leading_literal('[{"a": 1, "b": true, …}]') == ([Some({"a": 1, "b": True})], "")
    assert differences(Head(("a",)), ["a", "b"]) == [] and differences(["a"], ["a", "b"])
    assert differences({"a": 1}, {"a": 1, "b": 2}) and not differences(Some({"a": 1}), {"a": 1, "b": 2})
    assert differences(1, True) and differences(7.9, 8.1) and not differences(100.03, 100.03)
    assert check_note("(203 votes)", {"votos": 203}) == [] and check_note("(2,000 votes)", {"v": 2000}) == []
    assert check_response([(9, "422: not a month")], httpx.Response(422, json={"detail": "x"})) == []
    assert check_response([(9, "404 {\"detail\": \"No…\"}")], httpx.Response(404, json={"detail": "Nope"})) == []
    assert check_response([], httpx.Response(500, text="boom"))  # no comment: 200 expected
    with pytest.raises(ReadmeError, match="0 sections headed"):
        find_section(FAKE_README, "The original REST routes")
    with pytest.raises(ReadmeError, match="README.md:3: comment 'orphan' belongs to no example"):
        python_examples(Block("python", 1, "x = 1\n\n# orphan\n"))
