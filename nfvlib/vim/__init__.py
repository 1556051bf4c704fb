"""The VIM registry: OpenStack sites, their credentials and their health."""
