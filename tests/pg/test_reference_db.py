"""The demo's reference database: the consumer-safety app (pgdr.demo.reference_db)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pgdr.demo import reference_db
from pgdr.pg.cluster import Cluster

pytestmark = pytest.mark.pg


def test_small_scale_load_is_consistent(make_cluster: Callable[..., Cluster]) -> None:
    c = make_cluster()
    with c.connect() as conn:
        counts = reference_db.load(conn, scale=0.02)
        s = reference_db.summary(conn)
        assert s["rows"] == counts and counts["recalls"] == 9200
        assert s["indexes"] == 47 and s["foreign_keys"] == 3
        orphans = conn.execute(
            "SELECT count(*) FROM subscriptions s LEFT JOIN users u ON u.id = s.user_id WHERE u.id IS NULL"
        ).fetchone()
        assert orphans == (0,)
        first = conn.execute(
            "SELECT md5(string_agg(description, '' ORDER BY id)) FROM recalls"
        ).fetchone()
    other = make_cluster()
    with other.connect() as conn:
        reference_db.load(conn, scale=0.02)
        again = conn.execute(
            "SELECT md5(string_agg(description, '' ORDER BY id)) FROM recalls"
        ).fetchone()
        assert first == again  # deterministic
        cribs = conn.execute("SELECT count(*) FROM recalls WHERE category = 'cribs'").fetchone()
        assert reference_db.accidental_delete(conn) == cribs[0] > 0  # type: ignore[index]
