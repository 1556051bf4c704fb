"""Real OpenStack services (Keystone, Heat) run on this machine as a VIM."""
