"""Run the webknossos SDK's own server-facing test suite live against the sandbox; print counts.

    python scripts/sdk_suite.py --recordings ../shared/wk-recordings --libs-repo PATH_TO_webknossos-libs

What runs: the tests the SDK marks `skip_on_windows` (its marker for "needs the local WEBKNOSSOS
server", which replaced the cassette-era `use_proxay`), in the SDK's server-facing test files. The
files come at run time, never from this repository:
  * `test_annotation.py`, `test_api_client.py`, `test_cli.py`: from the PyPI sdist of the installed
    `webknossos` version (`pip download webknossos==X --no-binary :all: --no-deps`);
  * everything the sdist lacks (`conftest.py`, `constants.py`, `data_fixtures.py`, `administration/`,
    `client/`, `dataset/`, `testdata/`): from a scalableminds/webknossos-libs checkout (`--libs-repo`,
    a git repository, at `--libs-ref`; without it the ref is cloned from GitHub).
The tests run in their own venv (created once under `--workdir`), with `WK_URL=http://localhost:9000`
(the suite hard-codes that address) and `WK_TOKEN` set, against `wkgt sandbox --port 9000` started by
this script. Harness shims, none of which changes a test: S3 constants and a `moto_server` fixture
when the checkout's `constants.py`/`conftest.py` predate them, and `h5py` made optional.

Prints passed/failed/errored per test file and in total; exits 0 when the run completed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from pathlib import Path

import httpx

SDIST_FILES = ("test_annotation.py", "test_api_client.py", "test_cli.py", "test_cli_utils.py", "test_skeleton.py", "test_utils.py")
SERVER_TEST_PATHS = (
    "tests/test_annotation.py",
    "tests/test_api_client.py",
    "tests/test_cli.py",
    "tests/administration",
    "tests/client",
    "tests/dataset/test_dataset.py",
    "tests/dataset/test_remote_dataset.py",
)
SUITE_PACKAGES = (
    "pytest~=8.3.2",
    "pytest-timeout~=2.3.0",
    "hypothesis~=6.35.0",
    "moto[s3,server]~=5.2.2",
    "waitress~=3.0.2",
    "jsonschema~=4.6.0",
    "fsspec>=2024.6.0",
    "icecream",
)
SANDBOX_PORT = 9000
S3_TEST_PORT = 8000  # the S3 test server of the suite (CONSTANTS_SHIM)
DEFAULT_LIBS_URL = "https://github.com/scalableminds/webknossos-libs"

CONSTANTS_SHIM = '''

# --- wkgt sdk_suite harness shim: S3 names newer test files import, and moto (in-process) as the
# --- S3 test server instead of minio in docker (as the SDK's own newer suite does)
import contextlib as _contextlib

try:
    S3_PORT  # noqa: B018
except NameError:
    S3_ROOT_USER = "TtnuieannGt2rGuie2t8Tt7urarg5nauedRndrur"
    S3_ROOT_PASSWORD = "ANTN35UAENTS5UIAEATD"
    S3_PORT = 8000
    REMOTE_TESTOUTPUT_DIR = UPath(
        "s3://testoutput", key=S3_ROOT_USER, secret=S3_ROOT_PASSWORD, endpoint_url=f"http://localhost:{S3_PORT}"
    )


_S3_USERS = []


@_contextlib.contextmanager
def use_minio():
    """The S3 test server; nested uses (a session fixture of newer test files and a module fixture of
    older ones) share one server, as the SDK's docker minio is one server."""
    import threading

    import waitress
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

    if _S3_USERS:
        _S3_USERS.append(None)
        try:
            yield
        finally:
            _S3_USERS.pop()
        return
    server = waitress.create_server(
        DomainDispatcherApplication(create_backend_app), host="127.0.0.1", port=int(S3_PORT), threads=8
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    _S3_USERS.append(server)
    try:
        REMOTE_TESTOUTPUT_DIR.fs.mkdirs("testoutput", exist_ok=True)
        yield
    finally:
        _S3_USERS.pop()
        server.close()
'''

CONFTEST_SHIM = '''

# --- wkgt sdk_suite harness shim: the S3 test server fixture newer test files use ---
if "moto_server" not in globals():

    @pytest.fixture(scope="session")
    def moto_server():
        from .constants import use_minio

        with use_minio():
            yield
'''


def run(cmd: list[str], **kwargs: object) -> None:
    subprocess.run(cmd, check=True, **kwargs)  # type: ignore[call-overload]


def suite_venv(workdir: Path, version: str) -> Path:
    """A venv with the SDK at `version` and the suite's test dependencies (created once)."""
    venv = workdir / f"venv-{version}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(python), "-m", "pip", "install", "-q", "-U", "pip"])
        run([str(python), "-m", "pip", "install", "-q", f"webknossos[tifffile,imagecodecs,s3]=={version}", *SUITE_PACKAGES])
        (venv / ".complete").touch()
    return python


def sdist_tests(workdir: Path, python: Path, version: str) -> Path:
    """The `tests/` folder of the PyPI sdist of webknossos `version`."""
    target = workdir / f"sdist-{version}"
    if not (target / "tests").exists():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir(parents=True)
        run([str(python), "-m", "pip", "download", "-q", f"webknossos=={version}", "--no-binary", ":all:", "--no-deps", "-d", str(target)])
        archive = next(target.glob("webknossos-*.tar.gz"))
        with tarfile.open(archive) as tar:
            tar.extractall(target, filter="data")
        shutil.move(str(target / f"webknossos-{version}" / "tests"), str(target / "tests"))
    return target / "tests"


def libs_checkout(workdir: Path, repo: str | None, ref: str) -> Path:
    """`webknossos/` (tests, testdata) of webknossos-libs at `ref`, from a local git repository or GitHub."""
    target = workdir / f"libs-{ref.replace('/', '_')}"
    if (target / "webknossos" / "tests").exists():
        return target / "webknossos"
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    if repo is None:
        clone = workdir / "libs-clone"
        shutil.rmtree(clone, ignore_errors=True)
        run(["git", "clone", "-q", "--depth", "1", "--branch", ref, DEFAULT_LIBS_URL, str(clone)])
        repo = str(clone)
    archive = subprocess.run(
        ["git", f"--git-dir={_git_dir(Path(repo))}", "archive", ref, "webknossos/tests", "webknossos/testdata"],
        check=True,
        capture_output=True,
    ).stdout
    subprocess.run(["tar", "x", "-C", str(target)], input=archive, check=True)
    return target / "webknossos"


def _git_dir(repo: Path) -> Path:
    return repo / ".git" if (repo / ".git").exists() else repo


def assemble(workdir: Path, sdist: Path, libs: Path) -> Path:
    """A fresh suite folder: the checkout's tests and testdata, the sdist's files on top, harness shims."""
    suite = workdir / "suite"
    shutil.rmtree(suite, ignore_errors=True)
    shutil.copytree(libs, suite)
    for name in SDIST_FILES:
        if (sdist / name).exists():
            shutil.copy(sdist / name, suite / "tests" / name)
    constants = suite / "tests" / "constants.py"
    constants.write_text(constants.read_text() + CONSTANTS_SHIM)
    conftest = suite / "tests" / "conftest.py"
    conftest.write_text(conftest.read_text() + CONFTEST_SHIM)
    fixtures = suite / "tests" / "data_fixtures.py"
    if fixtures.exists():
        fixtures.write_text(fixtures.read_text().replace("\nimport h5py\n", "\ntry:\n    import h5py\nexcept ImportError:\n    h5py = None\n"))
    (suite / "pytest.ini").write_text("[pytest]\nmarkers =\n    skip_on_windows: Skip this test on Windows\n")
    return suite


def start_sandbox(recordings: Path, token: str, separate_datastore: bool) -> subprocess.Popen[bytes]:
    empty = Path(tempfile.mkdtemp(prefix="wkgt-sdk-suite-")) / "no_datasets.json"
    empty.write_text("[]\n")  # the recorded world alone, without the built-in datasets `--recordings` adds
    cmd = [sys.executable, "-m", "wkgt", "sandbox", "--port", str(SANDBOX_PORT), "--recordings", str(recordings), "--catalog", str(empty)]
    if separate_datastore:
        cmd.append("--separate-datastore")
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the sandbox exited with code {process.returncode}")
        try:
            if httpx.get(f"http://127.0.0.1:{SANDBOX_PORT}/api/v12/health", timeout=1).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("the sandbox did not come up within 60 s")


def results(junit: Path) -> dict[str, Counter[str]]:
    """Outcome counts per test file from a junit XML report."""
    per_file: dict[str, Counter[str]] = defaultdict(Counter)
    for case in ET.parse(junit).getroot().iter("testcase"):
        file = case.get("classname", "").replace(".", "/") + ".py"
        tags = {child.tag for child in case}
        outcome = "errored" if "error" in tags else "failed" if "failure" in tags else "skipped" if "skipped" in tags else "passed"
        per_file[file][outcome] += 1
    return per_file


def problems(recordings: Path, libs_repo: str | None, libs_ref: str) -> list[str]:
    """What stops a run before it starts (checked before any venv is built or file fetched)."""
    found = []
    if not recordings.is_dir():
        found.append(f"--recordings {recordings}: no such folder (the recorded traffic, e.g. ../shared/wk-recordings)")
    if libs_repo is not None:
        repo = Path(libs_repo)
        if not repo.is_dir():
            found.append(f"--libs-repo {libs_repo}: no such folder (a clone of scalableminds/webknossos-libs)")
        else:
            known = subprocess.run(
                ["git", f"--git-dir={_git_dir(repo)}", "rev-parse", "--verify", "--quiet", f"{libs_ref}^{{commit}}"],
                capture_output=True,
            )
            if known.returncode != 0:
                found.append(f"--libs-repo {libs_repo}: not a git repository with --libs-ref {libs_ref}")
    for port, role in ((SANDBOX_PORT, "the SDK's suite hard-codes http://localhost:9000"), (S3_TEST_PORT, "its S3 test server")):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                found.append(f"port {port} is in use ({role})")
    return found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--recordings", type=Path, default=Path(__file__).resolve().parents[1].parent / "shared" / "wk-recordings",
        help="the recorded WEBKNOSSOS traffic the sandbox serves (default: %(default)s)",
    )
    parser.add_argument("--libs-repo", help="a scalableminds/webknossos-libs git repository (default: clone from GitHub)")
    parser.add_argument("--libs-ref", default="release-4.0", help="branch or commit of webknossos-libs for the files the sdist lacks (default: %(default)s)")
    parser.add_argument("--workdir", type=Path, default=Path.home() / ".cache" / "wkgt-sdk-suite", help="where the venv and the test files go (default: %(default)s)")
    parser.add_argument("--timeout", type=int, default=180, help="seconds per test (default: %(default)s)")
    parser.add_argument("--separate-datastore", action="store_true", help="serve the datastore on its own port")
    parser.add_argument("-k", dest="keyword", help="only tests matching this pytest -k expression")
    args = parser.parse_args()
    found = problems(args.recordings, args.libs_repo, args.libs_ref)
    if found:
        parser.exit(2, f"sdk_suite: cannot start: {'; '.join(found)}\n")

    version = importlib.metadata.version("webknossos")
    args.workdir.mkdir(parents=True, exist_ok=True)
    python = suite_venv(args.workdir, version)
    suite = assemble(args.workdir, sdist_tests(args.workdir, python, version), libs_checkout(args.workdir, args.libs_repo, args.libs_ref))
    from wkgt_sandbox import DEFAULT_TOKEN

    junit = args.workdir / "junit.xml"
    junit.unlink(missing_ok=True)
    sandbox = start_sandbox(args.recordings.resolve(), DEFAULT_TOKEN, args.separate_datastore)
    try:
        env = {**os.environ, "WK_URL": f"http://localhost:{SANDBOX_PORT}", "WK_TOKEN": DEFAULT_TOKEN}
        cmd = [str(python), "-m", "pytest", "-m", "skip_on_windows", "-p", "no:cacheprovider", "-q", "-rfE",
               f"--timeout={args.timeout}", f"--junitxml={junit}", *SERVER_TEST_PATHS]  # fmt: skip
        if args.keyword:
            cmd += ["-k", args.keyword]
        subprocess.run(cmd, cwd=suite, env=env, check=False)
    finally:
        os.killpg(sandbox.pid, signal.SIGINT)
        try:
            sandbox.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(sandbox.pid, signal.SIGKILL)

    per_file = results(junit)
    total: Counter[str] = Counter()
    print(f"\n{'file':48} {'passed':>7} {'failed':>7} {'errored':>8} {'tests':>6}")
    for file in sorted(per_file):
        c = per_file[file]
        total.update(c)
        print(f"{file:48} {c['passed']:7} {c['failed']:7} {c['errored']:8} {sum(c.values()):6}")
    print(f"{'total':48} {total['passed']:7} {total['failed']:7} {total['errored']:8} {sum(total.values()):6}")
    print(f"sdk suite: {total['passed']} passed, {total['failed'] + total['errored']} failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
