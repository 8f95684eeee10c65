"""Builds `cometmq._core` with Bazel (offline) and packages it with cometmq/.

Install with `pip install --no-build-isolation ./python` from a venv made with
`/usr/bin/python3 -m venv --system-site-packages VENV` (see README).
"""

import os
import shutil
import subprocess

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


class BazelExtension(Extension):
    def __init__(self, name, target):
        super().__init__(name, sources=[])
        self.target = target


class BazelBuildExt(build_ext):
    """Runs `bazel build -c opt` for each extension and copies the result."""

    def build_extension(self, ext):
        subprocess.check_call(
            ["bazel", "build", "-c", "opt", ext.target], cwd=ROOT)
        bin_dir = subprocess.check_output(
            ["bazel", "info", "-c", "opt", "bazel-bin"], cwd=ROOT,
            text=True).strip()
        package, name = ext.target.lstrip("/").split(":")
        built = os.path.join(bin_dir, package, name)
        dest = self.get_ext_fullpath(ext.name)
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copyfile(built, dest)


setup(
    name="cometmq",
    version="0.1.0",
    description="Python client for CometMQ, a RocketMQ-class message queue",
    packages=["cometmq"],
    package_dir={"cometmq": "cometmq"},
    ext_modules=[BazelExtension("cometmq._core", "//python:cometmq/_core.so")],
    cmdclass={"build_ext": BazelBuildExt},
    python_requires=">=3.11",
    zip_safe=False,
)
