"""Map the top-level folders into the ``modelward`` namespace, every subpackage included."""

from setuptools import find_namespace_packages, setup

ROOTS = ("engine", "admission", "cli", "controller", "policies")


def _packages() -> tuple[list[str], dict[str, str]]:
    packages, dirs = [], {}
    for root in ROOTS:
        for sub in [
            root,
            *find_namespace_packages(where=".", include=[f"{root}.*"], exclude=["*__pycache__*"]),
        ]:
            name = f"modelward.{sub}"
            if root == "policies" and sub != root:
                continue  # policy folders are package data, not Python packages
            packages.append(name)
            dirs[name] = sub.replace(".", "/")
    return packages, dirs


PACKAGES, PACKAGE_DIR = _packages()
setup(packages=PACKAGES, package_dir=PACKAGE_DIR)
