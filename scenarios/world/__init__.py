"""The simulated world: simpy drivers around the sans-I/O cores, links with impairments, the message log."""
