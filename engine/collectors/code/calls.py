"""What Python calls and names mean: the qualified names each code rule is about."""

from __future__ import annotations

import re
from typing import Final

#: Calls that start a process (a name ending in "." matches every call of that module).
PROCESS: Final = frozenset({
    "subprocess.", "os.system", "os.popen", "os.execl", "os.execle", "os.execlp", "os.execlpe",
    "os.execv", "os.execve", "os.execvp", "os.execvpe", "os.spawnl", "os.spawnle", "os.spawnlp",
    "os.spawnlpe", "os.spawnv", "os.spawnve", "os.spawnvp", "os.spawnvpe", "os.posix_spawn",
    "os.posix_spawnp", "os.startfile", "os.forkpty", "pty.spawn", "commands.getoutput",
    "commands.getstatusoutput", "asyncio.create_subprocess_exec",
    "asyncio.create_subprocess_shell", "platform.popen", "sh.", "pexpect.spawn", "pexpect.run",
})  # fmt: skip
#: Calls that run code given as data.
EXEC: Final = frozenset({
    "builtins.exec", "builtins.eval", "builtins.compile", "runpy.run_path", "runpy.run_module",
    "types.FunctionType", "types.CodeType", "ctypes.CDLL", "ctypes.cdll.LoadLibrary",
    "ctypes.PyDLL", "code.interact", "code.InteractiveInterpreter",
})  # fmt: skip
DYNAMIC_IMPORT: Final = frozenset(
    {"builtins.__import__", "importlib.import_module", "importlib.__import__"}
)
#: Loaders that run code from the bytes they read (torch/numpy/yaml only without safe options).
DESERIALIZE: Final = frozenset({
    "pickle.load", "pickle.loads", "pickle.Unpickler", "_pickle.load", "_pickle.loads",
    "cPickle.load", "cPickle.loads", "dill.load", "dill.loads", "cloudpickle.load",
    "cloudpickle.loads", "joblib.load", "shelve.open", "pandas.read_pickle", "marshal.load",
    "marshal.loads", "torch.load", "numpy.load", "yaml.load", "yaml.unsafe_load",
    "yaml.load_all", "yaml.unsafe_load_all", "jsonpickle.decode",
})  # fmt: skip
NETWORK: Final = frozenset({
    "socket.socket", "socket.create_connection", "socket.socketpair", "urllib.request.urlopen",
    "urllib.request.build_opener", "urllib2.urlopen", "http.client.HTTPConnection",
    "http.client.HTTPSConnection", "requests.get", "requests.post", "requests.put",
    "requests.patch", "requests.delete", "requests.head", "requests.options", "requests.request",
    "requests.Session", "requests.session", "httpx.get", "httpx.post", "httpx.put",
    "httpx.patch", "httpx.delete", "httpx.request", "httpx.stream", "httpx.Client",
    "httpx.AsyncClient", "aiohttp.ClientSession", "aiohttp.request", "urllib3.PoolManager",
    "urllib3.request", "ftplib.FTP", "ftplib.FTP_TLS", "smtplib.SMTP", "smtplib.SMTP_SSL",
    "telnetlib.Telnet", "paramiko.SSHClient", "websocket.create_connection",
    "websockets.connect", "pycurl.Curl",
})  # fmt: skip
DOWNLOAD_FILE: Final = frozenset({
    "huggingface_hub.hf_hub_download", "huggingface_hub.snapshot_download",
    "huggingface_hub.file_download.hf_hub_download", "transformers.utils.cached_file",
    "transformers.utils.hub.cached_file", "urllib.request.urlretrieve",
    "torch.hub.download_url_to_file", "torch.hub.load_state_dict_from_url", "wget.download",
    "gdown.download", "gdown.download_folder",
})  # fmt: skip
DOWNLOAD_CODE: Final = frozenset({
    "torch.hub.load", "pip.main", "pip._internal.main", "pip._internal.cli.main.main",
    "transformers.dynamic_module_utils.get_class_from_dynamic_module",
    "transformers.dynamic_module_utils.get_cached_module_file", "setuptools.command.easy_install",
})  # fmt: skip
DECODERS: Final = frozenset({
    "base64.b64decode", "base64.b32decode", "base64.b16decode", "base64.a85decode",
    "base64.b85decode", "base64.decodebytes", "base64.decodestring",
    "base64.standard_b64decode", "base64.urlsafe_b64decode", "codecs.decode", "zlib.decompress",
    "gzip.decompress", "bz2.decompress", "lzma.decompress", "binascii.unhexlify",
    "binascii.a2b_base64", "binascii.a2b_hex", "builtins.bytes.fromhex", "marshal.loads",
    "builtins.bytearray.fromhex",
})  # fmt: skip
#: Methods whose call decodes hidden text whatever object they are called on.
DECODER_METHODS: Final = frozenset({"fromhex", "b64decode", "decompress", "unhexlify"})
FILE_MUTATIONS: Final = {
    "os.remove": 0, "os.unlink": 0, "os.rmdir": 0, "os.removedirs": 0, "os.rename": 1,
    "os.replace": 1, "os.chmod": 0, "os.chown": 0, "os.symlink": 1, "os.link": 1,
    "os.truncate": 0, "shutil.rmtree": 0, "shutil.move": 1, "shutil.copy": 1,
    "shutil.copy2": 1, "shutil.copyfile": 1, "shutil.copytree": 1,
}  # fmt: skip
OPENERS: Final = frozenset({"builtins.open", "io.open", "codecs.open"})
PATH_WRITERS: Final = frozenset({"write_text", "write_bytes"})
#: Modules whose attributes code must not replace (a replaced loader or builtin hides anything).
PATCHED_ROOTS: Final = frozenset({
    "builtins", "torch", "transformers", "os", "subprocess", "importlib", "pickle", "safetensors",
    "huggingface_hub", "numpy", "socket", "requests", "ssl", "urllib", "json", "shutil",
    "tokenizers", "accelerate",
})  # fmt: skip
#: Builtins resolved as ``builtins.<name>`` when not rebound by an import.
BUILTINS: Final = frozenset({
    "exec", "eval", "compile", "__import__", "open", "getattr", "setattr", "delattr", "chr",
    "bytes", "bytearray", "globals", "locals", "vars", "print", "map",
})  # fmt: skip
ENVIRON: Final = frozenset({"os.environ", "os.environb"})
GETENV: Final = frozenset({"os.getenv", "os.getenvb", "os.environ.get", "os.environ.pop"})
ENV_DUMP_METHODS: Final = frozenset({"copy", "items", "keys", "values", "__iter__", "__str__"})
ENV_KEY_METHODS: Final = frozenset({"get", "pop", "setdefault", "update", "__contains__"})
#: Environment variable names that hold credentials.
CREDENTIAL_ENV: Final = re.compile(
    r"TOKEN|SECRET|PASSW(?:OR)?D|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|SESSION_?KEY|"
    r"AUTH(?!OR)",
    re.I,
)
#: Paths of credential files; a string constant naming one is a finding wherever it is.
CREDENTIAL_PATH: Final = re.compile(
    r"(?:^|[/~])\.(?:aws|ssh|gnupg|docker|kube|azure)(?:/|$)|id_rsa|id_ed25519|id_ecdsa|"
    r"(?:^|/)\.netrc$|\.git-credentials|\.pypirc|huggingface/token|/etc/(?:shadow|sudoers)|"
    r"\.bash_history|\.config/gcloud"
)
#: Written paths that make code run later (shell start-up, cron, Python start-up, system dirs).
PERSISTENCE_PATH: Final = re.compile(
    r"(?:^|/)\.(?:bashrc|bash_profile|profile|zshrc|zprofile|bash_login)$|authorized_keys|"
    r"^/etc/|cron|sitecustomize\.py|usercustomize\.py|\.pth$|site-packages|dist-packages|"
    r"^/usr/|^/s?bin/|\.config/autostart|systemd"
)
#: Where code may write without a finding: the caches and temporary folders.
CACHE_PATH: Final = re.compile(r"^(?:~/\.cache/|/tmp/|/var/tmp/|/dev/null$|/dev/shm/)")


def matches(name: str, table: frozenset[str]) -> bool:
    """``name`` is in ``table`` exactly or under a module entry ending in ``.``."""
    if name in table:
        return True
    head = name
    while "." in head:
        head = head.rsplit(".", 1)[0]
        if head + "." in table:
            return True
    return False


#: chr() calls in one expression that make it a chr() chain.
CHR_CHAIN: Final = 8
