"""Everything that touches PostgreSQL itself.

``wal`` and ``timeline`` are pure (LSN, segment and timeline arithmetic); ``binaries`` finds
and invokes the server programs; ``osuser`` runs them as an unprivileged OS user when pgdr is
root; ``cluster`` creates, starts, stops and destroys clusters. Import the submodules
directly: this package imports nothing so the pure modules stay cheap.
"""
