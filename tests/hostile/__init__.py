"""Hostile input for the consumer and the command line (issue 4, item 5)."""
