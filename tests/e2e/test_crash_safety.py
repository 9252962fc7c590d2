"""Crash safety and concurrent writers, with real processes."""

from __future__ import annotations

import json
import os
import random
import signal
import time
from pathlib import Path

import pytest

from tests.e2e.cli import pgdr, snapshot, spawn

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASS = {"PGDR_PASSPHRASE": "crash test passphrase"}


def write_config(path: Path, url: str, pack_mib: int = 1) -> Path:
    cfg = path / "pgdr.toml"
    cfg.write_text(
        f'[repositories.main]\nurl = "{url}"\npassphrase = "env:PGDR_PASSPHRASE"\n'
        f"pack_size_mib = {pack_mib}\n"
    )
    return cfg


def make_data(path: Path, mib: int, seed: int) -> None:
    """Half random, half text-like: compressible enough to be realistic, big enough to take
    a while."""
    rng = random.Random(seed)
    with open(path, "wb") as f:
        for i in range(mib * 4):
            block = rng.randbytes(128 * 1024) + (f"row {i} " * 20000).encode()[: 128 * 1024]
            f.write(block)


def store_json(cfg: Path, data: Path, name: str) -> dict[str, int]:
    r = pgdr("--config", cfg, "--json", "dev", "store", data, "--name", name, env=PASS)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)  # type: ignore[no-any-return]


def index_objects(repo: Path) -> int:
    return sum(1 for name in snapshot(repo) if name.startswith("index/"))


def test_sigkill_at_random_moments_leaves_a_consistent_repository(tmp_path: Path) -> None:
    data = tmp_path / "data.bin"
    make_data(data, 96, seed=1)
    # Calibrate: how long a whole store takes, and what it uploads, in a separate repository.
    (tmp_path / "cal").mkdir()
    cal = write_config(tmp_path / "cal", f"file://{tmp_path}/cal-repo")
    assert pgdr("--config", cal, "repo", "init", env=PASS).returncode == 0
    t = time.monotonic()
    full = store_json(cal, data, "big")
    duration = time.monotonic() - t

    (tmp_path / "crash").mkdir()
    cfg = write_config(tmp_path / "crash", f"file://{tmp_path}/repo")
    assert pgdr("--config", cfg, "repo", "init", env=PASS).returncode == 0
    rng = random.Random(20261124)
    kills = attempts = 0
    while kills < 20 and attempts < 60:
        attempts += 1
        proc = spawn("--config", cfg, "dev", "store", data, "--name", f"big-{attempts}", env=PASS)
        if attempts % 3 == 0:
            # A third of the kills land once this run wrote an index object, whatever the
            # machine's load: the rerun below must find packs to reuse.
            indexes = index_objects(tmp_path / "repo")
            deadline = time.monotonic() + duration * 5
            while proc.poll() is None and time.monotonic() < deadline:
                if index_objects(tmp_path / "repo") > indexes:
                    break
                time.sleep(0.01)
        else:
            # Most of a store's time is Python starting: draw from (almost) all of it.
            time.sleep(rng.uniform(0.05, duration * 0.95))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            kills += 1
        proc.wait()
        r = pgdr("--config", cfg, "repo", "verify", env=PASS)
        assert r.returncode == 0, f"after kill {kills}: {r.stdout}{r.stderr}"
    assert kills >= 20
    before = sum(snapshot(tmp_path / "repo").values())
    rerun = store_json(cfg, data, "big")
    # The rerun completes and reuses what the killed runs uploaded.
    assert rerun["stored_bytes"] < full["stored_bytes"], (rerun, full)
    assert rerun["dedup_blobs"] > 0
    r = pgdr("--config", cfg, "repo", "verify", "--read-data", env=PASS)
    assert r.returncode == 0, r.stdout + r.stderr
    out = tmp_path / "out"
    assert pgdr("--config", cfg, "dev", "fetch", "big", out, env=PASS).returncode == 0
    assert (out / "data.bin").read_bytes() == data.read_bytes()
    assert sum(snapshot(tmp_path / "repo").values()) >= before


@pytest.mark.parametrize("kind", ["file", "s3"])
def test_two_writers_at_once(tmp_path: Path, kind: str, request: pytest.FixtureRequest) -> None:
    url = f"file://{tmp_path}/repo" if kind == "file" else request.getfixturevalue("s3_url")
    cfg = write_config(tmp_path, url)
    assert pgdr("--config", cfg, "repo", "init", env=PASS).returncode == 0
    a, b = tmp_path / "a.bin", tmp_path / "b.bin"
    make_data(a, 24, seed=2)
    make_data(b, 24, seed=3)  # text halves are identical to a's: both writers race to store them
    procs = [spawn("--config", cfg, "dev", "store", p, "--name", p.stem, env=PASS) for p in (a, b)]
    for p in procs:
        assert p.wait(120) == 0, p.stderr.read() if p.stderr else ""
    r = pgdr("--config", cfg, "repo", "verify", "--read-data", env=PASS)
    assert r.returncode == 0, r.stdout + r.stderr
    for p in (a, b):
        out = tmp_path / f"out-{p.stem}"
        assert pgdr("--config", cfg, "dev", "fetch", p.stem, out, env=PASS).returncode == 0
        assert (out / p.name).read_bytes() == p.read_bytes()
    info = pgdr("--config", cfg, "--json", "repo", "info", env=PASS)
    assert json.loads(info.stdout)["manifests"] == {"files": 2}
    assert os.listdir(tmp_path)
