"""A solved network as plain data, and the run folder it is written to and read from."""
