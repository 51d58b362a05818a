"""cluster.yaml is a valid Ray cluster launcher config (the schema shipped inside ray)."""

import json
from pathlib import Path

import jsonschema
import ray.autoscaler
import yaml

ROOT = Path(__file__).resolve().parents[2]


def test_cluster_yaml_validates_against_rays_schema():
    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    jsonschema.validate(config, schema)
    assert config["provider"]["type"] == "aws"
    setup = " ".join(config["setup_commands"])
    assert "pip install" in setup and "pcp-sweep" in setup


def test_the_schema_check_can_fail():
    schema = json.loads((Path(ray.autoscaler.__file__).parent / "ray-schema.json").read_text())
    config = yaml.safe_load((ROOT / "cluster.yaml").read_text())
    config["max_worker"] = 3  # a typo of max_workers
    try:
        jsonschema.validate(config, schema)
    except jsonschema.ValidationError as exc:
        assert "max_worker" in exc.message
    else:
        raise AssertionError("the schema accepted an unknown key")
