"""OpenStackClient plugin: ``openstack vim ...`` in local or remote mode.

``--os-nfv-mode local`` (env ``OS_NFV_MODE``) runs the commands on the local
store without any cloud credentials; ``remote`` (the default under
``openstack``) speaks to the cloud's Tacker server.
"""

from __future__ import annotations


DEFAULT_API_VERSION = "1"
API_VERSION_OPTION = "os_nfv_api_version"
API_NAME = "nfv"
API_VERSIONS = {"1": "nfvlib.client.Client"}


def make_client(instance):
    """Build the nfvlib client for the OSC client manager."""
    from nfvlib import Client
    from nfvlib.config import nfv_mode

    options = getattr(instance, "_cli_options", None)
    config = getattr(options, "config", None) or {}
    mode = config.get("nfv_mode") or nfv_mode(default="remote")
    if mode == "local":
        return Client("local", standby_worker=False)  # one operation per process
    return Client("remote", session=instance.session,
                  region_name=getattr(instance, "region_name", None),
                  endpoint_override=config.get("nfv_endpoint_override"),
                  lcm_api_version=lcm_api_version(config))


def lcm_api_version(config: dict) -> int:
    """The VNF LCM API major version of ``--os-tacker-api-version``.

    osc-lib hands global options to plugins in the cloud config, under the
    option's dest. The option is python-tackerclient's when it is installed
    (default 1, as its users know it), else nfvkit's (default 2).
    """
    from nfvlib.config import tacker_api_version

    return int(config.get("tacker_api_version") or tacker_api_version())


def _load_our_commands_last() -> None:
    """Make nfvkit's commands win over python-tackerclient's, whatever the order.

    Both plugins name commands ``vim list``, ``vnflcm show``, ... . OSC loads
    each plugin's command group in the order of ``PLUGIN_MODULES`` (the order
    in which entry points are found on disk) and cliff keeps the last command
    loaded under a name. This puts this module last in the list that
    ``_load_plugins`` reads after the option parser is built; the list being
    iterated now is left untouched (a new list is bound).
    """
    try:
        from openstackclient.common import clientmanager
    except ImportError:  # another osc-lib application
        return
    modules = list(getattr(clientmanager, "PLUGIN_MODULES", ()))
    ours = [m for m in modules if getattr(m, "__name__", "") == __name__]
    if ours and modules[-1] is not ours[0]:
        clientmanager.PLUGIN_MODULES = [m for m in modules if m not in ours] + ours


def _tackerclient_installed() -> bool:
    import importlib.util

    return importlib.util.find_spec("tackerclient") is not None


def _forget_the_last_runs_client() -> None:
    """Give this run its own client.

    OpenStackClient keeps each plugin's client in a descriptor on its
    ClientManager class, built once per process: a second ``openstack`` run
    in the same process (a script or test calling ``openstackclient.shell.main``
    twice) would get the first run's client, with its mode, store and
    credentials. A fresh descriptor is put in place at the start of each run.
    """
    try:
        from openstackclient.common import clientmanager
    except ImportError:  # another osc-lib application
        return
    for owner in clientmanager.ClientManager.__mro__:  # osc-lib's base class has it
        cached = owner.__dict__.get(API_NAME)
        if cached is not None and getattr(cached, "factory", None) is make_client:
            setattr(owner, API_NAME, type(cached)(make_client))


def build_option_parser(parser):
    """Add the plugin's global options to openstack's parser."""
    from nfvlib.config import nfv_api_version, nfv_mode, tacker_api_version

    _load_our_commands_last()
    _forget_the_last_runs_client()
    if not _tackerclient_installed():
        # python-tackerclient's plugin adds this option itself; two adds would clash
        parser.add_argument(
            "--os-tacker-api-version", metavar="<tacker-api-version>",
            choices=("1", "2"), default=tacker_api_version(),
            help="VNF LCM API major version of the Tacker server in remote mode, "
                 "1 or 2 (env OS_TACKER_API_VERSION, default 2)")
    parser.add_argument(
        "--os-nfv-api-version", metavar="<nfv-api-version>",
        default=nfv_api_version(default=DEFAULT_API_VERSION),
        help="NFV API version, default=%s (env: OS_NFV_API_VERSION)"
        % DEFAULT_API_VERSION)
    parser.add_argument(
        "--os-nfv-mode", metavar="<local|remote>", choices=("local", "remote"),
        default=nfv_mode(default="remote"),
        help="local: run on this machine's nfvkit store, no Tacker server and no "
             "cloud credentials needed; remote: use the cloud's Tacker server "
             "(default, env: OS_NFV_MODE)")
    return parser
