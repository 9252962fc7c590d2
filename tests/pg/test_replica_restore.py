"""Region failure: WAL and backups follow into a replica on S3 (its own KMS key); the primary
repository is destroyed; a point-in-time restore from the replica alone is exact."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from pgdr.pg.cluster import Cluster
from pgdr.pg.osuser import free_port
from tests.e2e.cli import pgdr
from tests.fixtures.moto_server import REGION, bucket_url, make_bucket
from tests.fixtures.pgconfig import add_postgres
from tests.pg.archiving import archiving_cluster, wait_archived

pytestmark = [pytest.mark.pg, pytest.mark.e2e]
DIGEST = "SELECT count(*), md5(string_agg(id || ':' || note, ',' ORDER BY id)) FROM events"


def run(*args: str | Path) -> dict:
    r = pgdr(*args, timeout=300)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout) if "--json" in args else {}


def test_pitr_from_the_replica_after_the_primary_is_destroyed(
    make_cluster: Callable[..., Cluster],
    archive_setup: dict,
    pg_base_dir: Path,
    moto_endpoint: str,
    kms_key_id: str,
) -> None:
    root, cfg = Path(archive_setup["root"]), Path(archive_setup["cfg"])
    dr_url = bucket_url(moto_endpoint, make_bucket(moto_endpoint))
    cfg.write_text(
        f'[repositories.main]\nurl = "{archive_setup["url"]}"\nkey_file = "{archive_setup["key"]}"\n'
        'replicate_to = ["dr"]\n\n'
        f'[repositories.dr]\nurl = "{dr_url}"\nkms_key_id = "{kms_key_id}"\n'
        f'kms_region = "{REGION}"\nkms_endpoint = "{moto_endpoint}"\n'
        f'[repositories.dr.s3]\naccess_key_id = "file:{root}/aws-key"\n'
        f'secret_access_key = "file:{root}/aws-key"\n\n'
        "[audit]\nwal_summary_s = 0\n"
    )
    run("--config", cfg, "repo", "replicate")  # seed the replica: WAL follows only into one
    src = archiving_cluster(make_cluster, cfg)
    add_postgres(cfg, src, user="postgres")
    src.sql("CREATE TABLE events (id serial PRIMARY KEY, note text)")
    src.sql("INSERT INTO events (note) SELECT 'before backup ' || g FROM generate_series(1, 500) g")
    backup = run("--config", cfg, "--json", "backup", "--label", "nightly")  # follows into dr
    src.sql("INSERT INTO events (note) SELECT 'after backup ' || g FROM generate_series(1, 300) g")
    expected = src.sql(DIGEST)[0]
    time.sleep(1.1)
    target = datetime.now(UTC)
    time.sleep(1.1)
    src.sql("DELETE FROM events WHERE id % 2 = 0")  # the accident
    src.sql("INSERT INTO events (note) VALUES ('late')")
    wait_archived(src, str(src.sql("SELECT pg_walfile_name(pg_switch_wal())")[0][0]))

    lag = run("--config", cfg, "--json", "repo", "lag")["replicas"][0]["lag"]
    assert "wal" not in lag["behind_by_category"], lag  # every segment followed on its own
    assert lag["newest_wal_replica"] == lag["newest_wal_source"]
    assert lag["newest_backup_replica"] == backup["backup_id"]

    shutil.rmtree(root / "repo")  # the primary region is gone

    dest = pg_base_dir / "from-replica"
    port = free_port()
    res = run(
        "--config", cfg, "--repo", "dr", "--json", "restore", "--data-dir", dest,
        "--time", target.isoformat(), "--start", "--port", str(port),
        "--archive-mode", "repository",  # the failover: the new primary replaces the old
    )  # fmt: skip
    assert res["backup_id"] == backup["backup_id"] and res["in_recovery"] is False
    auto = (dest / "postgresql.auto.conf").read_text()
    assert "--repo dr wal-fetch" in auto  # replay reads the replica, never the lost primary
    assert "--repo dr wal-push --spool " in res["archive_command"]  # and archives into it too,
    assert res["archive_command"].endswith("/pusher %p")  # through the resident pusher
    restored = Cluster.attach(dest, port=port)
    restored.owned.append(dest)
    try:
        assert restored.sql(DIGEST)[0] == expected and expected[0] == 800
        assert restored.sql("SHOW archive_command")[0][0] == res["archive_command"]
        restored.sql("INSERT INTO events (note) VALUES ('after the failover')")
        (name,) = restored.sql("SELECT pg_walfile_name(pg_switch_wal())")[0]
        wait_archived(restored, str(name))  # the new timeline is protected, in dr
        info = run("--config", cfg, "--repo", "dr", "--json", "info")
        assert {w["timeline"] for w in info["wal"]} >= {1, 2}
        assert info["production_timeline"] == 2  # the old primary went quiet: a failover
    finally:
        restored.destroy()

    log = run("--config", cfg, "--repo", "dr", "--json", "audit", "--verify")
    actions = [e["action"] for e in log["entries"]]
    assert log["ok"] and {"replicate", "backup", "wal-ingest", "restore"} <= set(actions)
    # recorded in the replica it restored from (then the new primary's WAL pushes)
    assert [a for a in actions if a != "wal-ingest"][-1] == "restore"
