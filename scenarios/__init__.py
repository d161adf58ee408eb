"""The top floor: the simulated world, the live runtime, the scenario runner and the `fksim` command line."""
