"""Which files of a model are code, reading them within limits, and notebook cells."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Final, Literal

from modelward.engine.source import SourceFile

Kind = Literal["python", "notebook", "shell"]

MAX_FILE_BYTES: Final = 2 << 20
MAX_NOTEBOOK_BYTES: Final = 32 << 20  # outputs (images) make notebooks large; cells are small
MAX_FILES: Final = 5000
MAX_SECONDS: Final = 120.0
SHEBANG_BYTES: Final = 128
EXTENSIONS: Final[dict[str, Kind]] = {
    ".py": "python", ".pyw": "python", ".ipynb": "notebook", ".sh": "shell", ".bash": "shell",
    ".zsh": "shell", ".ksh": "shell",
}  # fmt: skip
_SHEBANG: Final = re.compile(rb"#!\s*\S*?(?:env\s+)?(python[0-9.]*|(?:ba|z|da|k)?sh)\b")
_SHELL_CELL: Final = re.compile(r"^\s*%%(?:bash|sh|script\s+(?:ba|z)?sh)\b")
_SHELL_MAGIC: Final = re.compile(r"^\s*(?:!|%(?:pip|conda|sx|system)\b)|^\s*\w+\s*=\s*!")


def kind_by_name(path: str) -> Kind | None:
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return EXTENSIONS.get(name[dot:].lower()) if dot > 0 else None


def kind_by_shebang(head: bytes) -> Kind | None:
    """The kind an extension-less script declares in its ``#!`` line."""
    match = _SHEBANG.match(head)
    if match is None:
        return None
    return "python" if match.group(1).startswith(b"python") else "shell"


def limit_of(kind: Kind) -> int:
    return MAX_NOTEBOOK_BYTES if kind == "notebook" else MAX_FILE_BYTES


def read_text(file: SourceFile, limit: int) -> str | None:
    """The file's text (undecodable bytes replaced), or ``None`` when it exceeds ``limit``."""
    with file.open() as fp:
        data = fp.read(limit + 1)
    if len(data) > limit:
        return None
    return data.decode("utf-8", errors="replace").removeprefix("\ufeff")


def read_head(file: SourceFile) -> bytes:
    with file.open() as fp:
        return fp.read(SHEBANG_BYTES)


@dataclass(frozen=True)
class Cell:
    """One code cell of a notebook: its Python (magics blanked) and its shell lines."""

    index: int
    python: str
    shell: str


class NotebookError(ValueError):
    """The notebook is not JSON with a list of cells."""


def notebook_cells(text: str) -> list[Cell]:
    """The code cells of an ``.ipynb`` document, line numbers kept within each cell."""
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise NotebookError(f"not JSON: {str(exc)[:120]}") from exc
    cells = document.get("cells") if isinstance(document, dict) else None
    if not isinstance(cells, list):
        raise NotebookError("no list of cells")
    out: list[Cell] = []
    for index, cell in enumerate(cells):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list):
            source = "".join(s for s in source if isinstance(s, str))
        if isinstance(source, str):
            out.append(split_cell(index, source))
    return out


def split_cell(index: int, source: str) -> Cell:
    """Separate IPython shell magics from Python, keeping both at their line numbers."""
    lines = source.splitlines()
    if lines and _SHELL_CELL.match(lines[0]):
        return Cell(index, "", "\n".join(["", *lines[1:]]))
    python: list[str] = []
    shell: list[str] = []
    for line in lines:
        stripped = line.lstrip()
        if _SHELL_MAGIC.match(line):
            command = stripped.split("!", 1)[1] if "!" in stripped else stripped.lstrip("%")
            python.append("")
            shell.append(command)
        elif stripped.startswith(("%", "?")):
            python.append("")  # other magics and help requests are not Python
            shell.append("")
        else:
            python.append(line)
            shell.append("")
    return Cell(index, "\n".join(python), "\n".join(shell))
