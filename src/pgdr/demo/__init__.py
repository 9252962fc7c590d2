"""`pgdr demo`: the whole story on a throw-away cluster (``run``) loaded with the reference
deployment's database (``reference_db``)."""
