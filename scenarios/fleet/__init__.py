"""The fleet study (`fksim fleet`): a whole fleet of handsets on one base system over hours, its load on
the application server and how it recovers from reboots, restarts, outages and portal bursts; cut into
independent parts that run as separate processes, on this machine or on a Dask cluster (docs/fleet.md)."""
