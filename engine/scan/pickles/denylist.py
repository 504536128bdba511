"""Known dangerous pickle globals, by dotted prefix, with the threat each one stands for.

A prefix matches itself and everything below it: ``os`` covers ``os.system`` and ``os.path.join``.
The denylist only improves messages and severity; the allowlist decides what is clean.
"""

from __future__ import annotations

from typing import Final

CODE_EXEC: Final = "arbitrary code execution"
PROCESS: Final = "process execution"
HIDDEN_PROCESS: Final = "stdlib function with hidden process execution"
RESOLVER: Final = "import/attribute resolver (getattr, importlib, operator chains)"
NESTED: Final = "nested deserialization"
CODE_OBJECT: Final = "code object construction (marshal, types)"
NETWORK: Final = "network access"
FILESYSTEM: Final = "file system access"
RUNNER: Final = "code runner (debugger, profiler, test harness)"
INSTALL: Final = "package installation"
INTERPRETER: Final = "interpreter state manipulation"
NATIVE: Final = "native code loading"
DUNDER: Final = "dunder attribute access"


def _all(technique: str, *prefixes: str) -> dict[str, str]:
    return dict.fromkeys(prefixes, technique)


DENIED: Final[dict[str, str]] = {
    **_all(CODE_EXEC, "builtins.eval", "builtins.exec", "builtins.execfile", "builtins.compile",
           "runpy", "code", "codeop", "compileall", "py_compile", "numexpr", "sympy", "jinja2",
           "mako", "pandas.eval", "typing.get_type_hints", "typing._eval_type", "logging.config",
           "threading", "_thread", "concurrent", "atexit", "sched"),
    **_all(RESOLVER, "builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.vars",
           "builtins.globals", "builtins.locals", "builtins.type", "builtins.reload",
           "builtins.apply", "builtins.super", "importlib", "imp", "pkgutil", "zipimport",
           "operator", "functools", "inspect", "copyreg.add_extension", "copyreg.pickle",
           "copyreg.constructor", "pydoc.locate"),
    **_all(INTERPRETER, "sys", "gc", "site", "builtins.breakpoint", "builtins.input",
           "builtins.help", "builtins.exit", "builtins.quit", "signal", "ctypes.pythonapi"),
    **_all(PROCESS, "os", "subprocess", "pty", "multiprocessing", "asyncio", "pexpect", "sh",
           "plumbum", "fabric", "paramiko", "webbrowser", "_winapi", "msvcrt", "spawn"),
    **_all(HIDDEN_PROCESS, "_aix_support", "_osx_support", "_pyrepl", "pydoc", "imaplib",
           "mailcap", "platform", "uuid._get_command_stdout", "uuid._popen", "uuid._find_mac",
           "uuid._find_mac_near_keyword", "uuid._find_mac_under_heading", "uuid._ifconfig_getnode",
           "uuid._ip_getnode", "uuid._arp_getnode", "uuid._lanscan_getnode",
           "uuid._netstat_getnode", "uuid._ipconfig_getnode", "uuid._netbios_getnode",
           "uuid.getnode", "lib2to3", "numpy.f2py", "numpy.distutils", "torch._inductor",
           "torch._dynamo", "torch.fx.experimental", "torch.jit", "torch.utils.bottleneck",
           "torch.utils.collect_env", "torch.utils._config_module", "torch.utils.data.datapipes",
           "torch.utils.cpp_extension", "torch.ops.load_library", "torch.classes.load_library",
           "torch._C._jit_pass", "torch.package", "torch.hub", "torch.utils.model_zoo"),
    **_all(NESTED, "pickle", "dill", "cloudpickle", "joblib", "shelve", "yaml",
           "jsonpickle", "numpy.load", "numpy.loads", "numpy.lib.npyio", "numpy.lib.format",
           "numpy.core.numeric.loads", "torch.load", "torch.serialization",
           "torch.storage._load_from_bytes", "pandas.read_pickle", "sklearn.externals.joblib",
           "keras.models.load_model", "tensorflow.keras.models.load_model"),
    **_all(CODE_OBJECT, "types", "marshal"),
    **_all(NETWORK, "socket", "ssl", "http", "urllib", "urllib2", "urllib3", "requests", "httpx",
           "aiohttp", "ftplib", "smtplib", "smtpd", "poplib", "nntplib", "telnetlib", "xmlrpc",
           "socketserver", "wsgiref", "asyncore", "asynchat"),
    **_all(FILESYSTEM, "builtins.open", "builtins.file", "io", "shutil", "tempfile", "pathlib",
           "fileinput", "zipfile", "tarfile", "linecache", "codecs.open", "codecs.EncodedFile",
           "gzip.open", "bz2.open", "lzma.open", "torch.save", "numpy.save", "numpy.savez",
           "numpy.tofile", "numpy.memmap", "numpy.fromfile"),
    **_all(RUNNER, "pdb", "bdb", "trace", "profile", "cProfile", "timeit", "doctest", "unittest",
           "test.support", "idlelib", "tabnanny", "zipapp", "turtledemo", "pytest", "_pytest",
           "numpy.testing", "torch.testing", "torch.utils.benchmark"),
    **_all(INSTALL, "pip", "ensurepip", "venv", "distutils", "setuptools", "pkg_resources",
           "_distutils_hack"),
    **_all(NATIVE, "ctypes", "cffi", "numpy.ctypeslib"),
}  # fmt: skip

#: Leaf names that are dangerous whatever module re-exports them (``__main__.system``).
DANGEROUS_NAMES: Final = frozenset({
    "system", "popen", "Popen", "run", "call", "check_call", "check_output", "getoutput",
    "getstatusoutput", "spawn", "spawnl", "spawnv", "spawnvp", "execl", "execv", "execve",
    "execvp", "startfile", "fork", "eval", "exec", "execfile", "compile", "open", "getattr",
    "setattr", "delattr", "vars", "globals", "locals", "import_module", "load", "loads",
    "attrgetter", "methodcaller", "itemgetter", "partial", "resolve_name", "locate", "CDLL",
    "PyDLL", "WinDLL", "LoadLibrary", "FileIO", "urlopen", "Request", "create_connection",
    "socket", "rmtree", "remove", "unlink", "chmod", "FunctionType", "CodeType", "LambdaType",
    "ModuleType", "MethodType", "breakpoint", "input", "kill", "os", "sys", "subprocess",
    "builtins", "importlib", "pickle", "marshal", "types", "shutil", "ctypes", "runpy",
})  # fmt: skip
