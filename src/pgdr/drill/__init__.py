"""Restore drills: restore a backup into a sandbox, start it, prove the data is whole and
usable, measure RTO and RPO, tear the sandbox down, record the evidence in the repository
and notify.

``settings`` (config models) · ``choose`` (pure: which backup and target) · ``state``
(sandbox markers for crash cleanup) · ``sandbox`` (the throw-away instance) · ``verdicts``
(pure: facts -> pass/warn/fail) · ``probes`` (facts from the sandbox) · ``integrity``
(pg_amcheck, pg_checksums) · ``engine`` (the steps and their timings) · ``record`` (the
drill manifest and history) · ``report`` (text, Markdown, HTML) · ``events`` (notifications).
"""
