"""Atheris fuzz targets for modelward's static parsers.

    python fuzz/harness.py TARGET [libFuzzer options] [CORPUS_DIR ...]
    python fuzz/harness.py TARGET --check     # exit 0 if TARGET can be imported, 3 if not
    python fuzz/harness.py TARGET --repro FILE   # run one saved input and print the cause

Targets:
    detect_bytes    modelward.engine.identify.formats.detect_bytes(data)
    analyse_pickle  modelward.engine.scan.pickles.vm.analyse_pickle(data, file="fuzz")
    scan_bytes      modelward.engine.scan.scan_bytes(data, file="fuzz", member=None)

Any exception escaping a target is a crash: the scanners must turn hostile input into findings.
An audit hook aborts the process if anything unpickles, starts a process or opens a socket
while a target runs, so such a bug shows up as a crash too.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

UNAVAILABLE = 3


@dataclass(frozen=True)
class Target:
    module: str
    attr: str
    call: Callable[[Callable[..., Any], bytes], Any]
    check: Callable[[Any], bool]


def _is_scan_result(result: Any) -> bool:
    return hasattr(result, "findings") and hasattr(result, "complete")


TARGETS: dict[str, Target] = {
    "detect_bytes": Target(
        "modelward.engine.identify.formats", "detect_bytes",
        lambda fn, data: fn(data),
        lambda result: isinstance(result, str) and bool(result),
    ),
    "analyse_pickle": Target(
        "modelward.engine.scan.pickles.vm", "analyse_pickle",
        lambda fn, data: fn(data, file="fuzz"),
        _is_scan_result,
    ),
    "scan_bytes": Target(
        "modelward.engine.scan", "scan_bytes",
        lambda fn, data: fn(data, file="fuzz", member=None),
        _is_scan_result,
    ),
}  # fmt: skip

#: Audit events that must never happen while a static scanner runs.
FORBIDDEN_EVENTS = frozenset({
    "pickle.find_class", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork",
    "os.forkpty", "subprocess.Popen", "socket.connect", "socket.bind", "socket.sendto",
    "ctypes.dlopen", "webbrowser.open",
})  # fmt: skip

_armed = False


def _called_from(matches: Callable[[str], bool]) -> bool:
    """True when a caller of the audit hook runs code from a file ``matches`` accepts."""
    frame = sys._getframe(3)
    while frame is not None:
        if matches(frame.f_code.co_filename):
            return True
        frame = frame.f_back
    return False


def _importing() -> bool:
    """True while a module is being imported (its top-level code is not the scanner's doing)."""
    return _called_from(lambda name: name.startswith("<frozen importlib"))


def _hdf5_worker() -> bool:
    """True when the fork is the HDF5 reader's own isolation child (it runs no model code)."""
    return _called_from(lambda name: name.endswith("scan/formats/hdf5.py"))


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if event == "os.fork" and _hdf5_worker():
        return
    if _armed and event in FORBIDDEN_EVENTS and not _importing():
        import traceback

        sys.stderr.write(f"\n==FORBIDDEN: audit event {event} {args!r:.200} during a scan\n")
        traceback.print_stack(limit=12, file=sys.stderr)
        sys.stderr.flush()
        os.abort()


class TargetUnavailable(Exception):
    pass


def _import_engine() -> None:
    import pkgutil

    engine = importlib.import_module("modelward.engine")
    for info in pkgutil.walk_packages(engine.__path__, "modelward.engine."):
        try:
            importlib.import_module(info.name)
        except Exception as exc:
            print(f"fuzz: not instrumented: {info.name} ({exc})", file=sys.stderr)


def load(name: str, instrument: bool) -> Callable[[bytes], Any]:
    target = TARGETS[name]
    try:
        if instrument:
            import atheris

            with atheris.instrument_imports(include=["modelward"]):
                module = importlib.import_module(target.module)
                _import_engine()  # lazily imported helpers get coverage too
        else:
            module = importlib.import_module(target.module)
        fn = getattr(module, target.attr)
    except (ImportError, AttributeError) as exc:
        raise TargetUnavailable(
            f"fuzz target {name}: {target.module}.{target.attr} is not available ({exc})"
        ) from exc

    def one_input(data: bytes) -> Any:
        global _armed
        _armed = True
        try:
            result = target.call(fn, data)
        finally:
            _armed = False
        if not target.check(result):
            raise AssertionError(f"{name} returned an unexpected value: {result!r:.200}")
        return result

    return one_input


def _repro(name: str, path: str) -> int:
    """Run one saved input without the fuzzer; print a one-line cause. Exit 1 if it fails."""
    one_input = load(name, instrument=False)
    data = Path(path).read_bytes()
    sys.addaudithook(_audit)
    try:
        one_input(data)
    except Exception as exc:
        print(f"{type(exc).__name__}: {str(exc)[:160]}")
        return 1
    print("no failure (timeout/OOM inputs may need the fuzzer's limits)")
    return 0


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in TARGETS:
        print(__doc__, file=sys.stderr)
        return 2
    name, rest = argv[0], argv[1:]
    if rest == ["--check"]:
        try:
            load(name, instrument=False)
        except TargetUnavailable as exc:
            print(exc, file=sys.stderr)
            return UNAVAILABLE
        return 0

    if len(rest) == 2 and rest[0] == "--repro":
        return _repro(name, rest[1])

    import atheris

    try:
        one_input = load(name, instrument=True)
    except TargetUnavailable as exc:
        print(exc, file=sys.stderr)
        return UNAVAILABLE
    sys.addaudithook(_audit)

    def test_one_input(data: bytes) -> None:
        one_input(data)

    # libFuzzer's fork mode re-runs argv[0] with its own flags; run.sh points it at a wrapper.
    atheris.Setup([os.environ.get("FUZZ_ARGV0", sys.argv[0]), *rest], test_one_input)
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
