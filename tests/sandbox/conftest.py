"""Named sandbox configurations: each isolating backend, with limits sized for tests."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.sandbox import BubblewrapSandbox, UnshareSandbox
from gateway.sandbox.backends import probe
from gateway.sandbox.process import ProcessSandbox
from tests.sandbox.factories import (
    TEST_LIMITS,
    Deployment,
    make_deployment,
    package_with_standin_engine,
)

BACKENDS = {"bwrap": BubblewrapSandbox, "unshare": UnshareSandbox}


def _working(sandbox: ProcessSandbox) -> ProcessSandbox:
    reason = probe(sandbox)
    if reason is not None:
        pytest.fail(f"{sandbox.name} backend does not work on this machine: {reason}")
    return sandbox


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def sandbox(request: pytest.FixtureRequest) -> ProcessSandbox:
    """Each isolating backend, over the real gateway package."""
    return _working(BACKENDS[request.param](TEST_LIMITS))


@pytest.fixture(scope="session")
def standin_package(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("package")
    yield package_with_standin_engine(root)
    shutil.rmtree(root)


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def engine_sandbox(request: pytest.FixtureRequest, standin_package: Path) -> ProcessSandbox:
    """Each isolating backend, over a package whose DP engine has an injection bug."""
    return _working(BACKENDS[request.param](TEST_LIMITS, package_source=standin_package))


@pytest.fixture(scope="session", params=sorted(BACKENDS))
def reader_sandbox(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> ProcessSandbox:
    """Each isolating backend, with the real extract reader and the buggy stand-in engine."""
    package = package_with_standin_engine(
        tmp_path_factory.mktemp("package-real-reader"), standin_reader=False
    )
    return _working(BACKENDS[request.param](TEST_LIMITS, package_source=package))


@pytest.fixture(scope="session")
def deployment(tmp_path_factory: pytest.TempPathFactory) -> Deployment:
    return make_deployment(tmp_path_factory.mktemp("deployment"))
