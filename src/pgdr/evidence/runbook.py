"""The recovery runbook of THIS deployment: for each scenario, when to use it, the exact
commands with this config's names filled in, what to check after, and the RTO/RPO the
drills and game days measured (never a target copied from a brief). Pure: built from a
Deployment and Figures; rendered by pgdr.evidence.render."""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from pgdr.evidence.deployment import Deployment
from pgdr.evidence.figures import Figures

TIME_GUARD = ': "${TARGET_TIME:?set TARGET_TIME to the moment before the damage, e.g. 2026-12-07T03:00:00+00:00}"'


@dataclass
class Scenario:
    id: str
    title: str
    when: str
    #: Shell lines, run in order (the generated runbook's code blocks, verbatim).
    commands: list[str] = field(default_factory=list)
    check: list[str] = field(default_factory=list)
    cleanup: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    figures: Figures | None = None
    #: Why the scenario has no commands here (not configured), else "".
    not_configured: str = ""


@dataclass
class Runbook:
    deployment: Deployment
    generated: str
    scenarios: list[Scenario]


def _q(text: str) -> str:
    return shlex.quote(text)


def _dir(d: Deployment, scenario: str) -> str:
    return f"{d.restore_root.rstrip('/')}/{scenario}"


def _psql(d: Deployment, data_dir: str, port: int, sql: str) -> str:
    return (
        f"psql -h {_q(data_dir + '.run')} -p {port} -U {_q(d.superuser)} -d {_q(d.database)} "
        f"-Atc {_q(sql)}"
    )


def _mkroot(d: Deployment) -> str:
    """The parent of restored data directories: the postgres user must traverse it."""
    return f"install -d -m 755 {_q(d.restore_root)}"


def _stop(d: Deployment, data_dir: str) -> str:
    return f"runuser -u postgres -- {d.bin}pg_ctl -D {_q(data_dir)} stop -m fast"


def _count_sql(d: Deployment) -> str:
    if not d.tables:
        return "SELECT count(*) FROM pg_class"
    return "SELECT " + ", ".join(f"(SELECT count(*) FROM {t})" for t in d.tables)


def accidental_deletion(d: Deployment) -> Scenario:
    tables = " ".join(f"--table {_q(t)}" for t in d.tables) or "--table SCHEMA.TABLE"
    named = ", ".join(d.tables) or "the tables"
    return Scenario(
        "accidental-deletion",
        "Accidental deletion (rows or a table dropped by mistake)",
        "A DELETE (a cascade included), UPDATE, TRUNCATE or DROP removed data that must come "
        "back; the rest of production is fine and keeps running.",
        commands=[
            TIME_GUARD,
            f"{d.pgdr} restore table {tables} --database {_q(d.database)} "
            '--time "$TARGET_TIME" --missing-rows',
        ],
        check=[
            f"psql -h {_q(d.host)} -p {d.port} -U {_q(d.superuser)} -d {_q(d.database)} "
            f"-Atc {_q(_count_sql(d))}"
        ],
        notes=[
            f"One throw-away sandbox restores database {d.database} as it was at "
            f"$TARGET_TIME; the rows {named} had then and lack now go back into production by "
            "primary key, in one transaction, each table after the tables its foreign keys "
            "point at; rows written since stay as they are. The sandbox is removed (also on "
            "failure or SIGTERM) and the action is in the audit log. Name only the tables "
            "that lost rows; `--dry-run` first says what would happen.",
            "A table dropped: `--as NAME` (its own name is free again) instead of "
            "`--missing-rows`. Rows changed rather than deleted: `--as NAME` beside the live "
            "table, then compare and update by hand. `--dump FILE` writes them to a pg_dump "
            "file instead, production untouched.",
            "To look around first, a side server of the whole database as it was: "
            f"`{d.pgdr} restore --data-dir {_q(_dir(d, 'accidental-deletion'))} --time "
            f'"$TARGET_TIME" --archive-mode off --start --port {d.side_port}` (stop it with '
            f"`{_stop(d, _dir(d, 'accidental-deletion'))}`).",
        ],
    )


def corruption(d: Deployment) -> Scenario:
    new = _dir(d, "corruption")
    return Scenario(
        "corruption",
        "Database corruption",
        "Checksums fail, amcheck reports damage, or a bad migration wrote wrong data: "
        "production is rebuilt as it was just before.",
        commands=[
            TIME_GUARD,
            _mkroot(d),
            f'{d.pgdr} restore --data-dir {_q(new)} --time "$TARGET_TIME" '
            f"--archive-mode repository --start --port {d.restore_port}",
        ],
        check=[
            _psql(d, new, d.restore_port, _count_sql(d)),
            _psql(d, new, d.restore_port, "SELECT pg_is_in_recovery()"),
        ],
        cleanup=[],
        notes=[
            f"Stop the damaged server first (its data directory {d.data_dir or '(the server’s)'} "
            f"stays as evidence); the restored server in {new} archives into repository "
            f"{d.repository} and replaces it: point the application at port {d.restore_port}.",
        ],
    )


def complete_loss(d: Deployment) -> Scenario:
    new = _dir(d, "complete-loss")
    return Scenario(
        "complete-loss",
        "Complete failure (server or disk lost)",
        "The database server or its disk is gone: a new server is built from nothing but "
        f"the repository and its key ({d.key_material}).",
        commands=[
            f"{d.pgdr} info",
            _mkroot(d),
            f"{d.pgdr} restore --data-dir {_q(new)} --latest --archive-mode repository "
            f"--start --port {d.restore_port}",
        ],
        check=[
            _psql(d, new, d.restore_port, _count_sql(d)),
            _psql(d, new, d.restore_port, "SELECT pg_is_in_recovery()"),
        ],
        notes=[
            f"On a new host: install pgdr and PostgreSQL, copy {d.config_path or 'the config'} "
            f"and the key material ({d.key_material}); the restored server replays every "
            "archived WAL segment and then archives into the repository again.",
        ],
    )


def region_failure(d: Deployment) -> Scenario:
    if not d.replicas:
        return Scenario(
            "region-failure",
            "Region failure",
            "The region holding the repository is unavailable.",
            not_configured=f"repository {d.repository} has no replicate_to: there is no copy "
            "in another region to restore from",
        )
    name = next(iter(d.replicas))
    new = _dir(d, "region-failure")
    return Scenario(
        "region-failure",
        f"Region failure (restore from replica {name})",
        f"The region of repository {d.repository} ({d.repository_url}) is unavailable: "
        f"restore from the copy {name} ({d.replicas[name]}) alone.",
        commands=[
            f"{d.pgdr} --repo {_q(name)} info",
            _mkroot(d),
            f"{d.pgdr} --repo {_q(name)} restore --data-dir {_q(new)} --latest "
            f"--archive-mode repository --start --port {d.restore_port}",
        ],
        check=[
            _psql(d, new, d.restore_port, _count_sql(d)),
            _psql(d, new, d.restore_port, "SELECT pg_is_in_recovery()"),
        ],
        notes=[
            f"While the primary region is up, `{d.pgdr} repo lag` shows how far {name} is "
            f"behind: that is this scenario's RPO. The restored server archives into {name}.",
        ],
    )


def malicious_deletion(d: Deployment) -> Scenario:
    if d.replicas:
        name = next(iter(d.replicas))
        restore = f"{d.pgdr} --repo {_q(name)} info"
        source = f"replica {name}"
    else:
        restore, source = f"{d.pgdr} info", f"repository {d.repository}"
    return Scenario(
        "malicious-deletion",
        "Malicious deletion (ransomware, a rogue account)",
        "Someone with access tried to delete or encrypt backups: find what was touched, "
        f"then restore from what is locked (Object Lock: {d.object_lock}).",
        commands=[f"{d.pgdr} audit --verify", f"{d.pgdr} repo verify", restore],
        check=[f"{d.pgdr} audit --limit 20"],
        notes=[
            f"`audit --verify` names a removed or edited entry (exit 87); `repo verify` names "
            f"damaged objects (exit 36). Restore as in the region-failure or complete-failure "
            f"scenario from {source}; rotate every key and credential the attacker held "
            f"(`{d.pgdr} key revoke SLOT_ID`).",
        ],
    )


def application_failure(d: Deployment) -> Scenario:
    link = d.application_runbook or "(set [runbook] application_runbook to its address)"
    return Scenario(
        "application-failure",
        "Application failure",
        "A deploy broke the application but not the data: roll back the application.",
        notes=[f"Outside pgdr: the application's rollback runbook is {link}."],
        not_configured="" if d.application_runbook else "no application runbook configured",
    )


def build_runbook(d: Deployment, figures: dict[str, Figures], generated: str) -> Runbook:
    scenarios = [
        accidental_deletion(d),
        corruption(d),
        complete_loss(d),
        region_failure(d),
        malicious_deletion(d),
        application_failure(d),
    ]
    for s in scenarios:
        s.figures = figures.get(s.id)
    return Runbook(d, generated, scenarios)
