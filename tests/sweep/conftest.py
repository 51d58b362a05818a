"""A real local Ray instance shared by the tests that need one (started once, shut down at
the end). Workers find the test modules through PYTHONPATH."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ray_session():
    import ray

    os.environ["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    )
    from sweep.executors import reaper
    from sweep.executors.ray_executor import start_local

    watch = start_local(2, object_store_bytes=128 * 1024 * 1024)
    yield
    ray.shutdown()
    reaper.stop(watch)
