"""A missing optional library becomes an error that names the extra to install."""

from __future__ import annotations

import subprocess
import sys

import pytest

from modelward.engine.errors import Error
from modelward.engine.extras import EXTRA_OF_MODULE, MissingExtra, missing_extra, requires


def test_requires_turns_a_failed_import_into_missing_extra() -> None:
    with pytest.raises(MissingExtra) as caught, requires("hub", "hf:// references"):
        import modelward_no_such_module  # type: ignore[import-not-found]  # noqa: F401
    error = caught.value
    assert isinstance(error, Error)
    assert (error.extra, error.module) == ("hub", "modelward_no_such_module")
    assert error.diagnostics() == (
        "hf:// references: the 'hub' extra is not installed (no module "
        "'modelward_no_such_module'); install it with: pip install 'modelward[hub]'"
    )


def test_requires_lets_other_errors_through() -> None:
    with pytest.raises(ValueError, match="boom"), requires("opa", "--engine opa"):
        raise ValueError("boom")


def test_missing_extra_maps_known_optional_modules_only() -> None:
    found = missing_extra(ModuleNotFoundError("x", name="kubernetes.client"))
    assert found is not None
    assert (found.extra, found.module) == ("kubernetes", "kubernetes.client")
    assert missing_extra(ModuleNotFoundError("x", name="numpy")) is None
    assert missing_extra(ImportError("x", name="uvicorn")) is None  # a broken install, not absent
    assert missing_extra(RuntimeError("uvicorn")) is None


def test_every_extra_named_is_declared_in_the_package_metadata() -> None:
    from importlib.metadata import metadata

    declared = set(metadata("modelward").get_all("Provides-Extra") or [])
    assert set(EXTRA_OF_MODULE.values()) <= declared
    assert {"hub", "kubernetes", "webhook", "opa", "signing", "s3", "https", "all"} <= declared


def test_cli_maps_a_stray_optional_import_to_the_extra() -> None:
    """An optional import outside any ``requires`` block still ends as exit 2 naming the extra."""
    code = (
        "import sys, builtins\n"
        "real = builtins.__import__\n"
        "def fake(name, *a, **k):\n"
        "    if name.startswith('huggingface_hub'):\n"
        "        raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "    return real(name, *a, **k)\n"
        "builtins.__import__ = fake\n"
        "import modelward.cli.app as app\n"
        "def boom():\n"
        "    import huggingface_hub\n"
        "app.COMMANDS['boom'] = '__main__:boom'\n"
        "sys.argv = ['modelward', 'boom']\n"
        "from modelward.cli.main import main\n"
        "main()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    assert "pip install 'modelward[hub]'" in done.stderr
    assert "Traceback" not in done.stderr
