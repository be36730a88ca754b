"""The package installs with pip (offline, Debian's setuptools) and with
cmake --install, and the installed copy works against a daemon."""
import glob
import os
import shutil
import subprocess
import sys

import pytest

import taskpool

SOURCE_DIR = os.environ.get("TASKPOOL_SOURCE_DIR", "")
BUILD_DIR = os.environ.get("TASKPOOL_BUILD_DIR", "")
CMAKE = os.environ.get("CMAKE_COMMAND", "cmake")

# Run by the installed copy, with nothing of the build tree on its path.
PROBE = """
import sys, taskpool, taskpool.aio, taskpool.v1.taskpool_pb2
assert taskpool.__file__.startswith(sys.argv[1]), taskpool.__file__
with taskpool.Client(sys.argv[2]) as client:
    assert client.map("is_prime", ["454577", "3334"], chunksize=2) == [b"true", b"false"]
print(taskpool.__version__)
"""


@pytest.fixture
def dirs():
    if not (os.path.isdir(SOURCE_DIR) and os.path.isdir(BUILD_DIR)):
        pytest.fail("TASKPOOL_SOURCE_DIR and TASKPOOL_BUILD_DIR must be set (ctest sets them)",
                    pytrace=False)
    return SOURCE_DIR, BUILD_DIR


def clean_env():
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env["PIP_NO_INDEX"] = "1"  # never the network
    return env


def probe(python, site, daemon):
    result = subprocess.run([python, "-c", PROBE, site, daemon.socket], env=clean_env(),
                            cwd="/", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_the_source_tree_holds_no_generated_protocol(dirs):
    source, _ = dirs
    assert not glob.glob(os.path.join(source, "python", "**", "*_pb2.py"), recursive=True)


def test_pip_install_into_a_venv(dirs, daemon, tmp_path):
    source, _ = dirs
    # A copy of what pip needs, so its in-tree build leaves nothing in the
    # real tree.
    tree = tmp_path / "taskpool"
    shutil.copytree(os.path.join(source, "python"), tree / "python",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    shutil.copytree(os.path.join(source, "proto"), tree / "proto")
    shutil.copy(os.path.join(source, "CMakeLists.txt"), tree / "CMakeLists.txt")
    venv = tmp_path / "venv"
    # --system-site-packages: Debian's python3-protobuf satisfies the
    # dependency, and Debian's setuptools builds (--no-build-isolation).
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True, env=clean_env())
    python = str(venv / "bin" / "python")
    result = subprocess.run(
        [python, "-m", "pip", "install", "--no-build-isolation", "--no-cache-dir",
         str(tree / "python")], env=clean_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          check=True, capture_output=True, text=True).stdout.strip()
    assert os.path.exists(os.path.join(site, "taskpool", "v1", "taskpool_pb2.py"))
    assert probe(python, site, daemon) == taskpool.__version__


def test_cmake_install_puts_the_package_under_the_prefix(dirs, daemon, tmp_path):
    _, build = dirs
    prefix = tmp_path / "prefix"
    result = subprocess.run([CMAKE, "--install", build, "--component", "python",
                             "--prefix", str(prefix)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    [package] = glob.glob(str(prefix / "lib" / "python3*" / "dist-packages" / "taskpool"))
    installed = sorted(os.path.relpath(p, package)
                       for p in glob.glob(os.path.join(package, "**", "*"), recursive=True))
    assert installed == ["__init__.py", "_version.py", "_windows.py", "_wire.py", "aio.py",
                         "client.py", "errors.py", "v1", "v1/__init__.py", "v1/exec_pb2.py",
                         "v1/taskpool_pb2.py"]
    site = os.path.dirname(package)
    env = clean_env()
    env["PYTHONPATH"] = site
    result = subprocess.run([sys.executable, "-c", PROBE, site, daemon.socket], env=env,
                            cwd="/", capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == taskpool.__version__
