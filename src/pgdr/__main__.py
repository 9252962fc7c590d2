from pgdr.cli.main import run

run()
