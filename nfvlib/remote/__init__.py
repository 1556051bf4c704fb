"""Remote mode: nfvlib as a client of a Tacker server's REST API."""
