"""`make bench`: generate helpdesks of a given size and time the agent's pages (see README.md).

`python -m bench` runs everything; `bench.generate` fills one database, `bench.measure` times
the pages of one database. Each runs in its own process with that database's settings.
"""

# The agent whose pages are timed: works three queues, owns a full page of active tickets.
BENCH_AGENT = "bench.agent@example.com"
# Entries in the thread of the ticket whose page is timed.
LONG_THREAD = 200
