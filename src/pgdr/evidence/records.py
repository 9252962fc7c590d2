"""Reading the evidence a repository holds: drill records (pgdr.drill.record) and game-day
records (manifests of kind ``gameday``, written once at the end of each game day)."""

from __future__ import annotations

from typing import Any

from pgdr.drill.record import KIND as DRILL_KIND
from pgdr.drill.record import history
from pgdr.errors import PgdrError
from pgdr.evidence.figures import Measurement, scenarios_of_drill
from pgdr.repo.repository import Repository

GAMEDAY_KIND = "gameday"


def gamedays(repo: Repository) -> list[dict[str, Any]]:
    """Game-day records oldest first (ids start with the UTC start); unreadable ones skipped."""
    out = []
    for i in sorted(repo.list_manifests(GAMEDAY_KIND)):
        try:
            doc = repo.get_manifest(GAMEDAY_KIND, i).doc
        except PgdrError:
            continue
        if isinstance(doc, dict):
            out.append(doc)
    return out


def drill_docs(repo: Repository) -> list[dict[str, Any]]:
    return [r.to_doc() for r in history(repo)]


def measurements(
    drills: list[dict[str, Any]], games: list[dict[str, Any]], replica_urls: set[str]
) -> list[Measurement]:
    out = []
    rehearsed = {g.get("drill") for g in games}  # a game day's drill counts once, as the game day
    for d in drills:
        if d.get("id") in rehearsed:
            continue
        for scenario in scenarios_of_drill(d, replica_urls):
            out.append(
                Measurement(
                    scenario,
                    f"manifests/{DRILL_KIND}/{d['id']}",
                    str(d.get("finished") or d.get("started")),
                    str(d.get("result")),
                    d.get("total_seconds"),
                    d.get("rpo_seconds"),
                )
            )
    for g in games:
        out.append(
            Measurement(
                str(g.get("scenario")),
                f"manifests/{GAMEDAY_KIND}/{g['id']}",
                str(g.get("finished") or g.get("started")),
                str(g.get("result")),
                g.get("rto_seconds"),
                g.get("rpo_seconds"),
            )
        )
    return out
