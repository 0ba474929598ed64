"""word-count: a longrun operation plugin written in Python.

Counts the lines, words and characters of a UTF-8 text and lists its most
frequent words. It targets the world `plugin` of `longrun:plugin@1.1.0`
(spec/wit/plugin.wit); componentize-py generates the `wit_world` module from
that WIT when it builds the component (see README.md).
"""

import json
import re
from collections import Counter

import wit_world
from componentize_py_types import Err
from wit_world.imports import host
from wit_world.imports.types import (
    Amount_Percent,
    Description,
    Error,
    Input,
    InputSpec,
    LogLevel,
    Output,
    ProgressUpdate,
)

NAME = "word-count"
VERSION = "1.0.0"
INPUT = "text"
MAX_INPUT_BYTES = 16 << 20
RESULT_MEDIA_TYPE = "application/json"
DEFAULT_TOP = 10

# The stages in order, each with the share of the overall percent it ends at.
STAGES = [("tokenize", 50.0), ("count", 90.0), ("render", 100.0)]
STAGE_NAMES = [name for name, _ in STAGES]

# How many progress reports a stage makes at most while it works through its
# items (plus one when it starts).
REPORTS_PER_STAGE = 50

# A word: letters and digits (no underscore), with single inner apostrophes or
# hyphens ("don't", "well-known").
WORD = re.compile(r"[^\W_]+(?:['\u2019-][^\W_]+)*")
# Where the text may be cut into chunks without splitting a word.
SPACE = re.compile(r"\s")
# The smallest chunk tokenized at once, in characters.
CHUNK_CHARS = 64 << 10

PARAMS_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "top": {
            "type": "integer",
            "minimum": 0,
            "maximum": 100,
            "default": DEFAULT_TOP,
            "description": "How many of the most frequent words to list.",
        },
        "caseSensitive": {
            "type": "boolean",
            "default": False,
            "description": "Count `Word` and `word` apart; by default words are lowercased.",
        },
    },
    "additionalProperties": False,
}


class Canceled(Exception):
    """The host said the job was canceled."""


class Stage:
    """Progress through one stage, reported as an overall percent."""

    def __init__(self, name: str, total: int):
        self.name = name
        self.total = total
        index = STAGE_NAMES.index(name)
        self.start = 0.0 if index == 0 else STAGES[index - 1][1]
        self.end = STAGES[index][1]
        self.every = max(1, total // REPORTS_PER_STAGE)
        self.next = self.every
        self.report(0, f"{name}: started")

    def advance(self, done: int) -> None:
        """Report `done` of `total` units, about REPORTS_PER_STAGE times in all."""
        if done >= self.next or done == self.total:
            self.next = done + self.every
            self.report(done, f"{self.name}: {done} of {self.total}")

    def report(self, done: int, message: str) -> None:
        share = 1.0 if self.total == 0 else done / self.total
        percent = self.start + (self.end - self.start) * share
        update = ProgressUpdate(
            amount=Amount_Percent(percent), stage=self.name, message=message
        )
        if not host.progress(update):
            raise Canceled()


def failure(code: str, message: str) -> Err:
    """The exception that makes `run` return the WIT error `{code, message}`."""
    return Err(Error(code=code, message=message))


def parse_params(text: str) -> tuple[int, bool]:
    """`(top, case_sensitive)` from the params JSON text."""
    try:
        params = json.loads(text) if text.strip() else {}
    except ValueError as e:
        raise failure("invalid-params", f"params are not JSON: {e}")
    if not isinstance(params, dict):
        raise failure(
            "invalid-params",
            f"params must be a JSON object, got {type(params).__name__}",
        )
    top = params.get("top", DEFAULT_TOP)
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= 100:
        raise failure(
            "invalid-params", f"`top` must be an integer from 0 to 100, got {top!r}"
        )
    case_sensitive = params.get("caseSensitive", False)
    if not isinstance(case_sensitive, bool):
        raise failure(
            "invalid-params",
            f"`caseSensitive` must be true or false, got {case_sensitive!r}",
        )
    return top, case_sensitive


def decode(data: bytes, media_type: str) -> str:
    """The input's text; an `invalid-input` error unless it is UTF-8."""
    for parameter in media_type.split(";")[1:]:
        key, _, value = parameter.partition("=")
        charset = value.strip().strip('"').lower()
        if key.strip().lower() == "charset" and charset not in ("utf-8", "us-ascii"):
            raise failure(
                "invalid-input",
                f"input `{INPUT}` must be UTF-8 text; its media type says charset={charset}",
            )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise failure(
            "invalid-input",
            f"input `{INPUT}` must be UTF-8 text; byte 0x{data[e.start]:02x} "
            f"at offset {e.start} is not valid UTF-8 ({e.reason})",
        )


def chunks(text: str, size: int):
    """`(chunk, end)` pairs that cut `text` into pieces of about `size`
    characters, each ending at whitespace (or the end), so no word is split;
    `end` is where the piece ends in `text`."""
    start = 0
    while start < len(text):
        space = SPACE.search(text, min(start + size, len(text)))
        end = space.end() if space else len(text)
        yield text[start:end], end
        start = end


def count_lines(text: str) -> int:
    """Lines as `wc -l` counts them, plus a last line without a newline."""
    return text.count("\n") + (1 if text and not text.endswith("\n") else 0)


def analyse(text: str, top: int, case_sensitive: bool) -> dict:
    """The statistics of `text`, reporting progress through the stages."""
    tokenize = Stage("tokenize", len(text))
    words = []
    for chunk, end in chunks(text, max(CHUNK_CHARS, tokenize.every)):
        found = WORD.findall(chunk)
        words.extend(found if case_sensitive else (w.lower() for w in found))
        tokenize.advance(end)

    count = Stage("count", len(words))
    counts = Counter()
    step = count.every
    for start in range(0, len(words), step):
        counts.update(words[start : start + step])
        count.advance(min(start + step, len(words)))

    render = Stage("render", 1)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:top]
    stats = {
        "lines": count_lines(text),
        "words": len(words),
        "characters": len(text),
        "top": [{"word": word, "count": n} for word, n in ranked],
    }
    render.advance(1)
    host.log(
        LogLevel.INFO,
        f"word-count: {stats['words']} words ({len(counts)} distinct) "
        f"in {stats['lines']} lines",
    )
    return stats


class WitWorld(wit_world.WitWorld):
    """The exports of the world `plugin`."""

    def describe(self) -> Description:
        return Description(
            name=NAME,
            version=VERSION,
            title="Word count",
            description=(
                "Counts the lines, words and characters of a UTF-8 text and lists "
                "its most frequent words. A plugin written in Python "
                "(componentize-py)."
            ),
            stages=STAGE_NAMES,
            inputs=[
                InputSpec(
                    name=INPUT,
                    description="The text to count, in UTF-8.",
                    media_types=["text/plain"],
                    required=True,
                    max_bytes=MAX_INPUT_BYTES,
                )
            ],
            params_schema=json.dumps(PARAMS_SCHEMA),
            result_media_type=RESULT_MEDIA_TYPE,
        )

    def run(self, params: str, inputs: list[Input]) -> Output:
        top, case_sensitive = parse_params(params)
        given = next((i for i in inputs if i.name == INPUT), None)
        if given is None:
            names = ", ".join(i.name for i in inputs) or "none"
            raise failure(
                "invalid-input", f"input `{INPUT}` is required; given: {names}"
            )
        text = decode(given.data, given.media_type)
        try:
            stats = analyse(text, top, case_sensitive)
        except Canceled:
            raise failure("canceled", "the job was canceled")
        data = json.dumps(stats, ensure_ascii=False, separators=(",", ":"))
        return Output(media_type=RESULT_MEDIA_TYPE, data=data.encode("utf-8"))
