"""The live twin (`fksim serve`): the base's firmware in real time over real UDP, with its web interface.

`twin` drives the sans-I/O cores on simpy's real-time clock and UDP sockets, `backend` connects the
web interface to it, `web` serves that interface, `recorder` writes what was done as a scenario file,
`udp` holds the socket side. docs/live.md.
"""
