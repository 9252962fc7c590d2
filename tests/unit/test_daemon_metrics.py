"""/metrics from a snapshot: names, units, values; and the shipped Prometheus rules and
Grafana dashboard name only metrics that are exported."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from pgdr.daemon.alert_rules import RULES
from pgdr.daemon.metrics import View, render
from tests.fixtures.daemon_facts import GiB, facts, full_view

pytestmark = pytest.mark.unit
ROOT = Path(__file__).parents[2]


def samples(view: View) -> dict[str, float]:
    out = {}
    for fam in text_string_to_metric_families(render(view).decode()):
        for s in fam.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


def test_values_follow_the_facts() -> None:
    m = samples(full_view())
    assert m['pgdr_backup_last_success_age_seconds{type="incr"}'] == 9 * 3600
    assert m['pgdr_backups{type="incr"}'] == 8 and m['pgdr_backups{type="full"}'] == 0
    assert m['pgdr_backup_last_size_bytes{type="incr"}'] == 10 * GiB
    assert m["pgdr_backup_size_deviation_ratio"] == 0
    assert m["pgdr_recovery_window_seconds"] == 7 * 86400 - 30
    assert m['pgdr_repository_bytes{kind="data"}'] == 20 * GiB
    assert m['pgdr_storage_free_bytes{path="/srv/pgdr",volume="repository"}'] == 500 * GiB
    assert m['pgdr_replication_lag_seconds{standby="replica1"}'] == 0.2
    assert m['pgdr_replica_up{replica="dr"}'] == 1 and m['pgdr_replica_up{replica="offline"}'] == 0
    assert m['pgdr_replica_lag_seconds{replica="dr"}'] == 42
    assert m['pgdr_replica_lag_objects{replica="dr"}'] == 3
    assert m['pgdr_replica_lag_bytes{replica="dr"}'] == 4096
    assert 'pgdr_replica_lag_seconds{replica="offline"}' not in m  # unknown, not stale
    assert m["pgdr_wal_archived_total"] == 99 and m["pgdr_wal_archive_failing"] == 0
    assert m["pgdr_drill_last_success"] == 1 and m["pgdr_drill_last_rto_seconds"] == 300
    assert m['pgdr_job_runs_total{kind="verify",result="success"}'] == 1
    assert m['pgdr_job_failed_attempts_total{kind="backup_incr"}'] == 2
    assert (
        m['pgdr_job_running{kind="verify"}'] == 1 and m['pgdr_job_pending{kind="backup_incr"}'] == 1
    )
    assert m['pgdr_alert_firing{alert="backup_age",severity="critical"}'] == 0
    assert m["pgdr_postgres_up"] == 1 and m["pgdr_repository_up"] == 1


def test_names_carry_units_and_prefix() -> None:
    for name in samples(full_view()):
        base = name.split("{")[0]
        assert base.startswith("pgdr_"), base
        assert re.search(
            r"_(seconds|bytes|total|segments|ratio|up|success|firing|running|pending|info|backups|objects|gaps|standbys|failing|rows|exports)$",
            base,
        ), base


def test_unreachable_sources_export_no_stale_values() -> None:
    m = samples(View(facts(repo_up=False, pg_up=False, wal_lag_segments=None)))
    assert m["pgdr_repository_up"] == 0 and m["pgdr_postgres_up"] == 0
    assert not any(
        k.startswith(("pgdr_backup_", "pgdr_repository_bytes", "pgdr_wal_archived")) for k in m
    )


def exported() -> set[str]:
    return {k.split("{")[0] for k in samples(full_view())}


def metric_names(expr: str) -> set[str]:
    return set(re.findall(r"\bpgdr_[a-z0-9_]+", expr))


def test_prometheus_rules_mirror_the_daemon_alerts() -> None:
    doc = yaml.safe_load((ROOT / "deploy/prometheus/pgdr-alerts.yml").read_text())
    rules = [r for g in doc["groups"] for r in g["rules"]]
    assert {r["labels"]["pgdr_alert"] for r in rules} == set(RULES)
    names = exported()
    for r in rules:
        assert r["labels"]["severity"] == RULES[r["labels"]["pgdr_alert"]][0], r["alert"]
        used = metric_names(r["expr"])
        assert used and used <= names, (r["alert"], used - names)


def test_grafana_dashboard_uses_exported_metrics() -> None:
    dash = json.loads((ROOT / "deploy/grafana/pgdr.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(dash["panels"]) >= 10
    names = exported()
    for e in exprs:
        used = metric_names(e)
        assert used and used <= names, (e, used - names)
