from pgdr.entry import run

run()
