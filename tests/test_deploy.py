"""The full-stack deployment files: docker-compose.yml is valid and complete, .env.example documents
every setting. No Docker engine is needed: `docker-compose config` only reads and resolves the file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS = ROOT / "scalpaiboard" / "settings.py"

SERVICES = {"postgres", "redis", "web", "feed", "worker", "beat", "nginx"}
DJANGO_SERVICES = {"web", "feed", "worker", "beat", "ai"}
NETWORK = "scalpaiboard-network"
# Where each stateful service keeps what must survive a `docker-compose down`.
DATA_MOUNTS = {("postgres", "/var/lib/postgresql/data"), ("redis", "/data"), ("nginx", "/srv/static")}

DOCKER_COMPOSE = shutil.which("docker-compose")
needs_compose = pytest.mark.skipif(
    DOCKER_COMPOSE is None, reason="the docker-compose binary is not installed (Debian: apt-get install docker-compose)"
)


TEST_FERNET_KEY = "l4-9m3oR6Ovz0Wn0b1Z9Yx4Q3Uv6mFJcJlqQ7N0x6bE="


def compose(
    *args: str, env_file: Path, secret_key: str | None = "test-secret-key", fernet_keys: str | None = TEST_FERNET_KEY
) -> subprocess.CompletedProcess:
    """Run docker-compose on the project's file with only PATH, HOME, SECRET_KEY and FIELD_ENCRYPTION_KEYS in
    the environment.

    --env-file names the .env to read, so that a developer's own .env never changes the result.
    """
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": os.environ.get("HOME", "/tmp")}
    if secret_key is not None:
        env["SECRET_KEY"] = secret_key
    if fernet_keys is not None:
        env["FIELD_ENCRYPTION_KEYS"] = fernet_keys
    return subprocess.run(
        [DOCKER_COMPOSE, "--env-file", str(env_file), "-f", str(COMPOSE_FILE), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def empty_env_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("compose") / "empty.env"
    path.write_text("")
    return path


@pytest.fixture(scope="module")
def config(empty_env_file) -> dict:
    """The file as docker-compose resolves it, with no .env and only SECRET_KEY set."""
    result = compose("config", env_file=empty_env_file)
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def to_bytes(size) -> int:
    """A Compose size ("512m", "1g", 536870912) in bytes."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]?)b?", str(size).strip().lower())
    assert match, f"not a size: {size!r}"
    return int(float(match[1]) * 1024 ** " kmg".index(match[2] or " "))


def volume_mounts(service: dict) -> list[tuple[str, str, str]]:
    """(type, source, target) of each mount, from the short ("src:dst:mode") or long syntax."""
    mounts = []
    for volume in service.get("volumes", []):
        if isinstance(volume, dict):
            mounts.append((volume["type"], volume.get("source", ""), volume["target"]))
        else:
            source, _, rest = volume.partition(":")
            kind = "bind" if source.startswith(("/", ".", "~")) else "volume"
            mounts.append((kind, source, rest.partition(":")[0]))
    return mounts


def settings_variables() -> set[str]:
    """Every environment variable scalpaiboard/settings.py reads."""
    source = SETTINGS.read_text()
    patterns = [
        r"\bread_\w+\(\s*\"([A-Z][A-Z0-9_]*)\"",  # the strict readers; the name may be on the next line
        r"\benv\.\w+\(\s*\"([A-Z][A-Z0-9_]*)\"",  # django-environ directly, e.g. env.email_url("EMAIL_URL")
        r"\bos\.environ(?:\.get)?[(\[]\s*[\"']([A-Z][A-Z0-9_]*)[\"']",
        r"\bos\.getenv\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']",
    ]
    names = {name for pattern in patterns for name in re.findall(pattern, source)}
    return names - {"PYTEST_XDIST_WORKER"}  # set by pytest-xdist, not by an operator


def env_example_variables() -> set[str]:
    """Names in .env.example, set ("NAME=") or shown as set by docker-compose.yml ("#NAME=")."""
    return set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), flags=re.MULTILINE))


# --- docker-compose config ----------------------------------------------------------------------


@needs_compose
def test_compose_config_is_valid(empty_env_file):
    result = compose("config", "-q", env_file=empty_env_file)
    assert result.returncode == 0, result.stderr


@needs_compose
def test_compose_refuses_to_start_without_a_secret_key(empty_env_file):
    result = compose("config", "-q", env_file=empty_env_file, secret_key=None)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@needs_compose
def test_compose_refuses_to_start_without_encryption_keys(empty_env_file):
    result = compose("config", "-q", env_file=empty_env_file, fernet_keys=None)
    assert result.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS" in result.stderr


@needs_compose
def test_env_example_is_a_valid_env_file_once_the_secret_key_is_set(tmp_path):
    # As copied, SECRET_KEY and FIELD_ENCRYPTION_KEYS are empty, which docker-compose rejects; filled in,
    # the file is accepted.
    assert compose("config", "-q", env_file=ENV_EXAMPLE, secret_key=None, fernet_keys=None).returncode != 0
    env_file = tmp_path / ".env"
    text = re.sub(r"(?m)^SECRET_KEY=$", "SECRET_KEY=from-the-env-file", ENV_EXAMPLE.read_text())
    env_file.write_text(re.sub(r"(?m)^FIELD_ENCRYPTION_KEYS=$", f"FIELD_ENCRYPTION_KEYS={TEST_FERNET_KEY}", text))
    result = compose("config", env_file=env_file, secret_key=None, fernet_keys=None)
    assert result.returncode == 0, result.stderr
    web = yaml.safe_load(result.stdout)["services"]["web"]
    assert web["environment"]["SECRET_KEY"] == "from-the-env-file"


@needs_compose
def test_the_seven_services_exist(config):
    assert set(config["services"]) >= SERVICES


@needs_compose
def test_every_service_has_a_healthcheck(config):
    for name, service in config["services"].items():
        check = service.get("healthcheck")
        assert check and not check.get("disable"), f"{name} has no healthcheck"
        assert check["test"][0] in ("CMD", "CMD-SHELL") and len(check["test"]) > 1, f"{name}: {check['test']}"
        assert check.get("interval") and check.get("timeout") and check.get("retries"), f"{name}: {check}"


@needs_compose
def test_every_service_has_memory_and_cpu_limits(config):
    for name, service in config["services"].items():
        limits = service.get("deploy", {}).get("resources", {}).get("limits", {})
        assert "memory" in limits and "cpus" in limits, f"{name} has no deploy.resources.limits"
        assert "mem_limit" in service and "cpus" in service, f"{name} has no mem_limit/cpus"
        # The two spellings must agree, or v1 and v2 would run the service with different limits.
        assert to_bytes(service["mem_limit"]) == to_bytes(limits["memory"]) > 0, name
        assert float(service["cpus"]) == float(limits["cpus"]) > 0, name


@needs_compose
def test_every_service_is_on_the_one_network(config):
    assert set(config["networks"]) == {NETWORK}
    for name, service in config["services"].items():
        assert NETWORK in service.get("networks", {}), f"{name} is not on {NETWORK}"


@needs_compose
def test_state_lives_in_named_volumes(config):
    declared = set(config.get("volumes", {}))
    assert declared >= {"postgres-data", "redis-data", "static-files"}
    for name, service in config["services"].items():
        for kind, source, target in volume_mounts(service):
            if kind == "volume":
                assert source in declared, f"{name}: {target} is an anonymous or undeclared volume"
            else:
                assert name == "nginx" and target == "/etc/nginx/nginx.conf", f"{name}: unexpected bind mount {source}"
    for name, target in DATA_MOUNTS:
        kinds = {kind for kind, _, t in volume_mounts(config["services"][name]) if t == target}
        assert kinds == {"volume"}, f"{name} keeps {target} outside a named volume"
    # collectstatic (in the one-shot migrate service) fills the volume nginx serves.
    static = {source for _, source, t in volume_mounts(config["services"]["nginx"]) if t == "/srv/static"}
    assert static == {source for _, source, t in volume_mounts(config["services"]["migrate"]) if t == "/app/var/static"}


@needs_compose
def test_nothing_races_the_migrations(config):
    services = config["services"]
    assert "migrate" in services["migrate"]["command"][-1]
    for name in DJANGO_SERVICES:
        conditions = {other: d.get("condition") for other, d in services[name].get("depends_on", {}).items()}
        assert conditions.get("migrate") == "service_completed_successfully", f"{name} does not wait for migrate"
        assert conditions.get("postgres") == conditions.get("redis") == "service_healthy", f"{name}: {conditions}"
    assert services["nginx"]["depends_on"]["web"]["condition"] == "service_healthy"
    for name, service in services.items():
        assert service.get("restart"), f"{name} has no restart policy"


@needs_compose
def test_django_services_run_the_full_stack(config):
    for name in DJANGO_SERVICES | {"migrate"}:
        env = config["services"][name]["environment"]
        assert re.fullmatch(r"postgres://scalpaiboard:[^@]+@postgres:5432/scalpaiboard", env["DATABASE_URL"]), name
        assert env["REDIS_URL"] == "redis://redis:6379/0", name
        assert env["CELERY_BROKER_URL"] == "redis://redis:6379/1", name
        assert env["FEED_EMBEDDED"] == "false", name
        assert {"localhost", "web"} <= set(env["ALLOWED_HOSTS"].split(",")), name
        assert env["SECRET_KEY"] == "test-secret-key", name


# --- .env.example ---------------------------------------------------------------------------------


def test_env_example_lists_every_setting():
    variables = settings_variables()
    assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "EMAIL_URL"} <= variables  # the regexes work
    missing = variables - env_example_variables()
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_env_example_lists_every_compose_variable():
    used = set(re.findall(r"\$\{([A-Z][A-Z0-9_]*)", COMPOSE_FILE.read_text()))
    missing = used - env_example_variables()
    assert not missing, f".env.example lacks {sorted(missing)}, which docker-compose.yml reads"


def test_env_example_describes_each_variable():
    lines = ENV_EXAMPLE.read_text().splitlines()
    for number, line in enumerate(lines):
        if re.match(r"^#?[A-Z][A-Z0-9_]*=", line):
            comment = lines[number - 1]
            assert comment.startswith("# ") and "Default" in comment, f"{line!r} needs a comment naming its default"
