"""The daemon (`pgdr serve`): one long-running process per protected server.

``settings`` ([schedule], [alerts], [daemon], [web] config sections) · ``cron`` (pure:
schedule expressions, slots) · ``policy`` (pure: which slot of a job kind is due, missed-run
policy, retry backoff) · ``jobs`` (the job-kind registry: backup, verify, …) · ``history``
(job records in the repository, local outbox while it is unreachable) · ``scheduler`` (the
loop that dispatches due jobs, one per kind) · ``facts`` / ``collect_repo`` / ``collect_pg``
(a snapshot of everything alerts and metrics look at) · ``alerts`` (pure: facts -> conditions
-> alert state machine) · ``alerting`` (notifications of firing/resolved) · ``metrics``
(Prometheus exposition) · ``status`` (the picture shown by `pgdr status` and the dashboard)
· ``service`` (assembles it all, signals, shutdown).
"""
