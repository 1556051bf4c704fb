"""nfvcli: the `nfv` command and the OpenStackClient plugin, over nfvlib."""
