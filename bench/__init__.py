"""`make bench`: generate helpdesks of a given size and time the agent's pages (see README)."""
