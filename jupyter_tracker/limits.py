"""Every limit of the record format and the run states, in one place.

The kernel enforces these at ``log()`` and ``init()`` (a clear error naming
the bad key or argument), and the tracking server enforces the very same
ones on what it receives, so whatever is on disk is always uploadable.
"""

from __future__ import annotations

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_KEYS_PER_RECORD",
    "RESERVED_KEYS",
    "MAX_STEP",
    "MAX_SEQ",
    "MAX_PROJECT_LENGTH",
    "MAX_TEXT_LENGTH",
    "MAX_NOTES_LENGTH",
    "MAX_TAGS",
    "MAX_JSON_DEPTH",
    "MAX_HISTORY_KEYS",
    "MAX_EXIT_CODE",
    "MAX_FILE_PATH",
    "MAX_FILE_NAME_BYTES",
    "MAX_RECORD_BYTES",
    "BATCH_RECORDS",
    "BATCH_BYTES",
    "MAX_BODY",
    "MAX_FILE",
    "MAX_IMAGE_SIDE",
    "MAX_IMAGE_BYTES",
    "MAX_IMAGES_PER_VALUE",
    "MAX_HISTOGRAM_BINS",
    "MAX_TABLE_ROWS",
    "MAX_TABLE_COLUMNS",
    "MAX_TABLE_CELLS",
    "MAX_MEDIA_BYTES_PER_STEP",
    "MEDIA_PENDING_BYTES",
    "STATES",
    "LIVE_STATES",
    "TERMINAL_STATES",
    "ALERT_LEVELS",
    "MAX_ALERTS_KEPT",
    "key_problem",
    "text_problem",
    "json_depth",
    "depth_problem",
]

#: Longest metric key (characters, after nested dicts are flattened to ``a/b``).
MAX_KEY_LENGTH = 256
#: Most metric keys one history (or system) record may hold.
MAX_KEYS_PER_RECORD = 10_000
#: Keys every history row gets from the tracker itself.
RESERVED_KEYS = frozenset({"_step", "_timestamp", "_runtime"})
#: Highest step (a signed 64-bit integer, as every database stores it).
MAX_STEP = 2**63 - 1
#: Highest sequence number of a record.
MAX_SEQ = 2**63 - 1
#: Longest project name.
MAX_PROJECT_LENGTH = 256
#: Longest run name, group, job type and tag.
MAX_TEXT_LENGTH = 1024
#: Longest notes.
MAX_NOTES_LENGTH = 100_000
#: Most tags on a run.
MAX_TAGS = 1000
#: Deepest nesting of JSON values (config, summary, metadata): ``{"a": {"b": 1}}`` is 2 deep.
MAX_JSON_DEPTH = 64

#: Most metrics one history request of the server reads (``GET /runs/{id}/history``):
#: a row of MAX_KEYS_PER_RECORD keys can always be read back in one request.
MAX_HISTORY_KEYS = MAX_KEYS_PER_RECORD

#: A sync batch holds at most this many records, or about this many bytes.
BATCH_RECORDS = 20_000
BATCH_BYTES = 4 << 20
#: Largest JSON body the server accepts (bytes).
MAX_BODY = 16 << 20
#: Largest record (encoded) that a sync batch can carry: a bigger one could never be
#: uploaded, so ``log()``, ``config`` and ``summary`` must refuse it.
MAX_RECORD_BYTES = MAX_BODY - (64 << 10)
#: Largest file the server accepts (bytes).
MAX_FILE = 100 << 20
#: Longest path of a saved file, relative to the run's ``files/`` (characters), and the
#: longest name of one of its parts (bytes of UTF-8, as file systems count).
MAX_FILE_PATH = 1024
MAX_FILE_NAME_BYTES = 255
#: Media values (``tracker.Image``, ``Histogram``, ``Table``): the longest side of an image
#: (pixels), its largest size before encoding (bytes of pixels), most images in one list.
MAX_IMAGE_SIDE = 16_384
MAX_IMAGE_BYTES = 64 << 20
MAX_IMAGES_PER_VALUE = 1_000
#: Most bins of a histogram (they are stored inline in the events log).
MAX_HISTOGRAM_BINS = 512
#: Largest table: rows, columns and cells (a table file must stay below MAX_FILE).
MAX_TABLE_ROWS = 200_000
MAX_TABLE_COLUMNS = 1_000
MAX_TABLE_CELLS = 2_000_000
#: Most bytes of media one ``log()`` call may hold (pixels, histogram samples, table cells).
MAX_MEDIA_BYTES_PER_STEP = 128 << 20
#: Media copied by ``log()`` and not written yet above which ``log()`` waits for the writer.
MEDIA_PENDING_BYTES = 256 << 20

#: Exit codes in ``state`` records are integers from -MAX_EXIT_CODE to MAX_EXIT_CODE
#: (``sys.exit("message")`` exits with 1).
MAX_EXIT_CODE = 2**31 - 1

#: Every state of a run (see docs/format.md).
STATES = ("running", "service-stopped", "finished", "failed", "crashed")
#: States of a run that a process is still recording.
LIVE_STATES = ("running", "service-stopped")
#: States after which nothing more is logged.
TERMINAL_STATES = ("finished", "failed", "crashed")
#: Levels of ``run.alert()`` (wandb's ``AlertLevel``).
ALERT_LEVELS = ("INFO", "WARN", "ERROR")
#: Alerts a run's summary on the server keeps (the newest); the run's log keeps every one.
MAX_ALERTS_KEPT = 100


def key_problem(key: object) -> str | None:
    """Why ``key`` cannot be a metric key, or ``None`` when it can."""
    if not isinstance(key, str):
        return f"metric keys must be strings, got {key!r} ({type(key).__name__})"
    if not key:
        return "empty metric key"
    if key in RESERVED_KEYS:
        return f"key {key!r} is reserved for the tracker; choose another name"
    if len(key) > MAX_KEY_LENGTH:
        return f"key {key[:40]!r}... is {len(key)} characters; the limit is {MAX_KEY_LENGTH}"
    if "\x00" in key:
        return f"key {key!r} holds a NUL character"
    if not key.isascii():
        try:
            key.encode("utf-8")
        except UnicodeEncodeError:
            return f"key {key!r} cannot be encoded as UTF-8 (a lone surrogate?)"
    return None


def text_problem(value: object, limit: int) -> str | None:
    """Why ``value`` cannot be a text field (name, project, notes...) of at most ``limit``
    characters, or ``None`` when it can. ``None`` values are fine."""
    if value is None:
        return None
    if not isinstance(value, str):
        return f"must be a string, got {type(value).__name__}"
    if len(value) > limit:
        return f"is {len(value)} characters; the limit is {limit}"
    if "\x00" in value:
        return "holds a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "cannot be encoded as UTF-8 (a lone surrogate?)"
    return None


def json_depth(value: object, stop: int | None = None) -> int:
    """How deeply ``value`` nests dicts, lists and tuples (``1`` is 0, ``{"a": [1]}`` is 2).

    Iterative, so any depth is measured without recursion; with ``stop``, the
    walk ends as soon as that depth is passed (and returns ``stop + 1``).
    """
    deepest = 0
    todo: list[tuple[object, int]] = [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, (list, tuple)):
            children = item
        else:
            continue
        if level > deepest:
            deepest = level
            if stop is not None and deepest > stop:
                return deepest
        todo.extend((child, level + 1) for child in children if isinstance(child, (dict, list, tuple)))
    return deepest


def depth_problem(value: object, limit: int = MAX_JSON_DEPTH) -> str | None:
    """Why ``value`` is nested too deeply to be stored (config, summary, metadata), or ``None``."""
    if json_depth(value, stop=limit) > limit:
        return f"is nested more than {limit} levels deep (the limit is {limit})"
    return None
