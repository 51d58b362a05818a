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
    ray.init(num_cpus=2, include_dashboard=False, _node_ip_address="127.0.0.1",
             log_to_driver=False, configure_logging=False,
             object_store_memory=128 * 1024 * 1024)
    yield
    ray.shutdown()
