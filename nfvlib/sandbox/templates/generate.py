"""Generate the provider templates of the sandbox Heat environment.

Run once with the interpreter of the Heat virtualenv, from anywhere::

    <cache>/venvs/heat/bin/python nfvlib/sandbox/templates/generate.py

It reads each stood-in resource type's property and attribute schemata from
the installed Heat and writes ``fake_<type>.yaml`` next to this file:

* every property becomes a parameter of the matching type (String -> string,
  Integer/Number -> number, Boolean -> boolean, List -> comma_delimited_list,
  Map -> json); required properties stay required, the others get a default;
* every attribute (hidden ones and ``show`` included) becomes an output with
  a plausible value, and ``OS::stack_id`` (the reference id) is the id of the
  nested stack, a real UUID.

The YAML files are committed; nfvlib only reads them. This script is not
imported by nfvlib.
"""

import collections.abc  # noqa: F401 - yaql needs it imported first
import json
import os
import sys
import warnings

import yaml

warnings.filterwarnings("ignore")

OUT_DIR = os.path.dirname(os.path.abspath(__file__))
HOT_VERSION = "2018-08-31"

#: The resource inside the server stand-in; fault injection swaps its type.
SERVER_BODY = "sandbox_vm"

#: Required properties that have a hidden, older alias (translated by the real
#: resource); the stand-in accepts either, so neither may be required.
ALIASED = {
    "OS::Neutron::Port": {"network"},
    "OS::Neutron::Subnet": {"network"},
    "OS::Neutron::FloatingIP": {"floating_network"},
    "OS::Neutron::RouterInterface": {"router"},
}

TYPES = {
    "OS::Nova::Server": "fake_server.yaml",
    "OS::Nova::ServerGroup": "fake_server_group.yaml",
    "OS::Nova::Flavor": "fake_flavor.yaml",
    "OS::Nova::KeyPair": "fake_keypair.yaml",
    "OS::Neutron::Net": "fake_net.yaml",
    "OS::Neutron::ProviderNet": "fake_provider_net.yaml",
    "OS::Neutron::Subnet": "fake_subnet.yaml",
    "OS::Neutron::Port": "fake_port.yaml",
    "OS::Neutron::FloatingIP": "fake_floating_ip.yaml",
    "OS::Neutron::FloatingIPAssociation": "fake_floating_ip_association.yaml",
    "OS::Neutron::Router": "fake_router.yaml",
    "OS::Neutron::RouterInterface": "fake_router_interface.yaml",
    "OS::Neutron::SecurityGroup": "fake_security_group.yaml",
    "OS::Neutron::SecurityGroupRule": "fake_security_group_rule.yaml",
    "OS::Neutron::QoSPolicy": "fake_qos_policy.yaml",
    "OS::Neutron::QoSBandwidthLimitRule": "fake_qos_bandwidth_limit_rule.yaml",
    "OS::Neutron::Trunk": "fake_trunk.yaml",
    "OS::Cinder::Volume": "fake_volume.yaml",
    "OS::Cinder::VolumeAttachment": "fake_volume_attachment.yaml",
    "OS::Heat::ScalingPolicy": "fake_scaling_policy.yaml",
}

# --- yaql fragments ------------------------------------------------------------

HEX = "'0123456789abcdef'"
UUID_RE = "'^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'"


def members(var):
    """yaql: a List property as the provider receives it, back as a list.

    Lists of maps arrive flattened as ``.member.<i>.<key>=<value>`` strings.
    """
    return (
        f"switch({var}.any($.startsWith('.member.')) => "
        f"{var}.where($.startsWith('.member.')).select($.substring(8).split('.', 1))"
        ".select([int($[0]), $[1].split('=', 1)]).where($[1][1] != 'None')"
        ".groupBy($[0], $[1]).orderBy($[0]).select(dict($[1])), "
        f"true => {var}).toList()")


def id_bytes(var):
    """yaql: the 16 bytes of the UUID string ``var`` as numbers."""
    return (f"(let(c => {var}.toLower().replace('-', '')) -> range(16).select("
            f"{HEX}.indexOf($c.substring(2 * $, 1)) * 16 + "
            f"{HEX}.indexOf($c.substring(2 * $ + 1, 1))).toList())")


def ip_from(bytes_var, k):
    """yaql: a 10.x.y.z address made from three bytes starting at ``k``."""
    return (f"('10.' + str({bytes_var}[{k}]) + '.' + str({bytes_var}[{k} + 1]) + '.' + "
            f"str(2 + {bytes_var}[{k} + 2] mod 250))")


def mac_from(id_var):
    """yaql: an OpenStack-style MAC address made from a UUID string."""
    return (f"('fa:16:3e:' + {id_var}.substring(0, 2) + ':' + {id_var}.substring(2, 2) + "
            f"':' + {id_var}.substring(4, 2))")


def yaql(expression, **data):
    lines = [line.strip() for line in expression.strip().splitlines()]
    text = "\n".join(line for line in lines if line)
    return {"yaql": {"expression": text, "data": data}}


def param(name):
    return {"get_param": name}


STACK_ID = param("OS::stack_id")
PROJECT = param("OS::project_id")


def name_or_physical():
    """The ``name`` property, or a physical name like a real resource gets."""
    return yaql("$.data.name or $.data.physical",
                name=param("name"), physical=param("OS::stack_name"))


def list_param(name):
    return yaql("let(l => $.data.l or []) -> " + members("$l"), l=param(name))


# --- per type: resources and outputs -------------------------------------------

def server(props):
    info = yaql(
        """
        let(hx => {hx}, uuid => {uuid}, sid => $.data.sid,
            nets => $.data.nets or [], name => $.data.name or $.data.physical,
            flavor => $.data.flavor, image => $.data.image) ->
        let(sb => {sbytes}) ->
        let(rows => {ents}.enumerate().select(
          let(i => $[0], e => $[1]) ->
          let(p => ($e.get('port') or '').toLower()) ->
          let(pu => $p.matches($uuid)) ->
          let(pb => switch($pu => {pbytes}, true => $sb),
              k => switch($pu => 6, true => (6 + 3 * $i) mod 13),
              tail => '00' + str($i)) ->
          dict(network => $e.get('network') or $e.get('subnet') or 'private',
               port => switch($pu => $p,
                              true => $sid.substring(0, 33) + $tail.substring(len($tail) - 3)),
               addr => $e.get('fixed_ip') or {ip},
               mac => switch($pu => {pmac}, true => 'fa:16:3e:' + $sid.substring(0, 2) + ':' +
                             $sid.substring(2, 2) + ':' + str(10 + $i mod 90)))).toList()) ->
        let(addresses => $rows.groupBy($.network).toDict($[0], $[1].select(dict(
              'addr' => $.addr, 'version' => 4, 'OS-EXT-IPS-MAC:mac_addr' => $.mac,
              'OS-EXT-IPS:type' => 'fixed', 'port' => $.port)).toList()),
            networks => $rows.groupBy($.network).toDict($[0], $[1].select($.addr).toList()),
            first => $rows.select($.addr).first('')) ->
        dict(name => $name, addresses => $addresses, networks => $networks,
             first_address => $first, ports => $rows.select($.port),
             instance_name => 'instance-' + $sid.substring(0, 8),
             console_urls => dict(novnc => 'http://127.0.0.1:6080/vnc_auto.html?token=' + $sid),
             show => dict(id => $sid, name => $name, status => 'ACTIVE',
                          flavor => dict(id => $flavor, original_name => $flavor),
                          image => dict(id => $image), addresses => $addresses,
                          'OS-EXT-STS:vm_state' => 'active',
                          'OS-EXT-STS:power_state' => 1,
                          'OS-EXT-SRV-ATTR:instance_name' => 'instance-' + $sid.substring(0, 8)))
        """.format(hx=HEX, uuid=UUID_RE, sbytes=id_bytes("$sid"),
                   ents=members("$nets"), pbytes=id_bytes("$p"),
                   ip=ip_from("$pb", "$k"), pmac=mac_from("$p")),
        sid=STACK_ID, nets=param("networks"), name=param("name"),
        physical=param("OS::stack_name"), flavor=param("flavor"),
        image=param("image"))
    resources = {
        SERVER_BODY: {
            "type": "OS::Heat::TestResource",
            "properties": {
                "value": {"list_join": ["|", [
                    name_or_physical(), param("flavor"), param("image")]]},
            },
        },
        "sandbox_info": {"type": "OS::Heat::Value",
                 "properties": {"type": "json", "value": info}},
    }

    def attr(*path):
        return {"get_attr": ["sandbox_info", "value"] + list(path)}

    show = {"get_attr": ["sandbox_info", "value", "show"]}
    outputs = {
        "name": attr("name"),
        "addresses": attr("addresses"),
        "networks": attr("networks"),
        "first_address": attr("first_address"),
        "instance_name": attr("instance_name"),
        "accessIPv4": attr("first_address"),
        "accessIPv6": "",
        "console_urls": attr("console_urls"),
        "tags": list_param("tags"),
        "os_collect_config": {},
        "show": show,
    }
    return resources, outputs


def port(props):
    info = yaql(
        """
        let(hx => {hx}, pid => $.data.pid, fixed => $.data.fixed or [],
            mac => $.data.mac, nofixed => $.data.nofixed) ->
        let(pb => {pbytes}, ents => {ents}) ->
        let(ips => switch(
            $nofixed => [],
            len($ents) = 0 => [dict(ip_address => {ip0}, subnet_id => '')],
            true => $ents.enumerate().select(
              let(i => $[0], e => $[1]) ->
              dict(ip_address => $e.get('ip_address') or
                     ('10.' + str($pb[6]) + '.' + str($pb[7]) + '.' +
                      str(2 + ($pb[8] + $i) mod 250)),
                   subnet_id => $e.get('subnet') or $e.get('subnet_id') or '')).toList())) ->
        dict(fixed_ips => $ips, mac_address => $mac or {pmac})
        """.format(hx=HEX, pbytes=id_bytes("$pid"), ents=members("$fixed"),
                   ip0=ip_from("$pb", 6), pmac=mac_from("$pid")),
        pid=STACK_ID, fixed=param("fixed_ips"), mac=param("mac_address"),
        nofixed=param("no_fixed_ips"))
    resources = {"sandbox_info": {"type": "OS::Heat::Value",
                          "properties": {"type": "json", "value": info}}}
    network = yaql("$.data.a or $.data.b",
                   a=param("network"), b=param("network_id"))
    outputs = {
        "fixed_ips": {"get_attr": ["sandbox_info", "value", "fixed_ips"]},
        "mac_address": {"get_attr": ["sandbox_info", "value", "mac_address"]},
        "network_id": network,
        "network": {"id": network, "name": "", "status": "ACTIVE"},
        "status": "ACTIVE",
        "subnets": [],
        "dns_assignment": {},
        "qos_policy_id": param("qos_policy"),
        "show": {"id": STACK_ID, "name": name_or_physical(), "status": "ACTIVE",
                 "network_id": network,
                 "fixed_ips": {"get_attr": ["sandbox_info", "value", "fixed_ips"]},
                 "mac_address": {"get_attr": ["sandbox_info", "value", "mac_address"]},
                 "device_id": param("device_id"),
                 "device_owner": param("device_owner"),
                 "tenant_id": PROJECT},
    }
    return resources, outputs


def subnet(props):
    info = yaql(
        """
        let(b => {b}) ->
        let(c => $.data.cidr or ('10.' + str($b[0]) + '.' + str($b[1]) + '.0/24')) ->
        let(ip => $c.split('/')[0]) ->
        switch($c.indexOf(':') >= 0 =>
                 dict(cidr => $c, gw => $ip + '1', start => $ip + '2', end => $ip + 'ffff'),
               true => let(o => $ip.split('.')) ->
                 let(net => $o[0] + '.' + $o[1] + '.' + $o[2] + '.', h => int($o[3])) ->
                 dict(cidr => $c, gw => $net + str($h + 1), start => $net + str($h + 2),
                      end => $net + str($h + 254)))
        """.format(b=id_bytes("$.data.sid")),
        cidr=param("cidr"), sid=STACK_ID)
    resources = {
        "sandbox_info": {"type": "OS::Heat::Value",
                         "properties": {"type": "json", "value": info}},
    }

    def attr(key):
        return {"get_attr": ["sandbox_info", "value", key]}

    network = yaql("$.data.a or $.data.b",
                   a=param("network"), b=param("network_id"))
    gateway = yaql("$.data.g or $.data.d", g=param("gateway_ip"), d=attr("gw"))
    pools = yaql(
        "let(l => $.data.l or []) -> let(p => " + members("$l") + ") -> "
        "switch(len($p) > 0 => $p, true => [dict(start => $.data.s, end => $.data.e)])",
        l=param("allocation_pools"), s=attr("start"), e=attr("end"))
    outputs = {
        "network_id": network,
        "cidr": attr("cidr"),
        "gateway_ip": gateway,
        "allocation_pools": pools,
        "ip_version": yaql("str($.data.v)", v=param("ip_version")),
        "enable_dhcp": yaql("str($.data.v)", v=param("enable_dhcp")),
        "show": {"id": STACK_ID, "name": name_or_physical(), "network_id": network,
                 "cidr": attr("cidr"), "gateway_ip": gateway,
                 "ip_version": param("ip_version"), "enable_dhcp": param("enable_dhcp"),
                 "allocation_pools": pools, "tenant_id": PROJECT},
    }
    return resources, outputs


def net(props):
    outputs = {"status": "ACTIVE", "subnets": [], "mtu": 1450, "segments": [],
               "l2_adjacency": True, "admin_state_up": "True"}
    return {}, outputs


def floating_ip(props):
    address = yaql(
        f"$.data.a or ('172.24.4.' + str(2 + ({HEX}.indexOf($.data.sid.substring(0, 1)) * 16 + "
        f"{HEX}.indexOf($.data.sid.substring(1, 1))) mod 250))",
        a=param("floating_ip_address"), sid=STACK_ID)
    network = yaql("$.data.a or $.data.b", a=param("floating_network"),
                   b=param("floating_network_id"))
    outputs = {"floating_ip_address": address, "floating_network_id": network,
               "router_id": "", "show": {"id": STACK_ID, "floating_ip_address": address,
                                         "floating_network_id": network,
                                         "port_id": param("port_id"),
                                         "fixed_ip_address": param("fixed_ip_address"),
                                         "status": "ACTIVE", "tenant_id": PROJECT}}
    return {}, outputs


def volume(props):
    outputs = {
        "size": yaql("str($.data.v)", v=param("size")),
        "display_name": name_or_physical(),
        "display_description": param("description"),
        "status": "available",
        "created_at": "",
        "bootable": yaql("switch($.data.i => 'true', true => 'false')",
                         i=param("image")),
        "metadata": {"str_replace": {"template": "V", "params": {"V": param("metadata")}}},
        "metadata_values": param("metadata"),
        "encrypted": "false",
        "attachments": "[]",
        "attachments_list": [],
        "multiattach": param("multiattach"),
    }
    return {}, outputs


def scaling_policy(props):
    url = {"str_replace": {
        "template": "http://127.0.0.1:8000/v1/signal/ID",
        "params": {"ID": STACK_ID}}}
    return {}, {"alarm_url": url, "signal_url": url}


def keypair(props):
    return {}, {"public_key": param("public_key"), "private_key": ""}


def flavor(props):
    return {}, {"is_public": param("is_public"), "extra_specs": param("extra_specs")}


SPECIAL = {
    "OS::Nova::Server": server,
    "OS::Neutron::Port": port,
    "OS::Neutron::Subnet": subnet,
    "OS::Neutron::Net": net,
    "OS::Neutron::ProviderNet": net,
    "OS::Neutron::FloatingIP": floating_ip,
    "OS::Cinder::Volume": volume,
    "OS::Heat::ScalingPolicy": scaling_policy,
    "OS::Nova::KeyPair": keypair,
    "OS::Nova::Flavor": flavor,
}


# --- generic part --------------------------------------------------------------

def main():
    import logging
    logging.disable(logging.WARNING)  # Heat's notes about hidden types
    from oslo_service import backend
    backend.init_backend(backend.BackendType.THREADING)
    from oslo_config import cfg
    cfg.CONF([], project="heat")
    from heat.engine import attributes
    from heat.engine import properties
    from heat.engine import resources as heat_resources
    heat_resources.initialise()
    env = heat_resources.global_env()
    schema = properties.Schema

    param_type = {schema.STRING: "string", schema.INTEGER: "number",
                  schema.NUMBER: "number", schema.BOOLEAN: "boolean",
                  schema.LIST: "comma_delimited_list", schema.MAP: "json"}
    empty = {schema.STRING: "", schema.INTEGER: 0, schema.NUMBER: 0,
             schema.BOOLEAN: False, schema.LIST: [], schema.MAP: {}}

    # The sandbox's Heat environment is read from this file at run time.
    with open(os.path.join(OUT_DIR, "registry.json"), "w") as out:
        json.dump(TYPES, out, indent=1, sort_keys=True)
        out.write("\n")

    for res_type, file_name in TYPES.items():
        cls = env.get_class(res_type)
        props = {n: s for n, s in properties.schemata(cls.properties_schema).items()
                 if s.implemented}
        params = {}
        for name, s in props.items():
            p = {"type": param_type[s.type]}
            if s.description:
                p["description"] = " ".join(str(s.description).split())
            required = s.required and name not in ALIASED.get(res_type, ())
            if s.default is not None:
                p["default"] = s.default
            elif not required:
                p["default"] = empty[s.type]
            if required or s.default is not None:
                cons = [c for c in properties.Properties._hot_param_def_from_prop(s)
                        .get("constraints", []) if c]
                if cons:
                    p["constraints"] = cons
            params[name] = p

        attr_schema = dict(cls.attributes_schema)
        attr_schema.update(cls.base_attributes_schema)
        special = SPECIAL.get(res_type)
        resources, outputs = special(props) if special else ({}, {})
        for name, raw in attr_schema.items():
            if name in outputs:
                continue
            a = attributes.Schema.from_attribute(raw)
            if name == "name" and "name" in props:
                outputs[name] = name_or_physical()
            elif name == "tenant_id":
                outputs[name] = PROJECT
            elif name == "show":
                show = {"id": STACK_ID}
                for pname, s in props.items():
                    if s.type != schema.LIST:
                        show[pname] = param(pname)
                if "name" in props:
                    show["name"] = name_or_physical()
                outputs[name] = show
            elif name in props:
                s = props[name]
                outputs[name] = (list_param(name) if s.type == schema.LIST
                                 else param(name))
            elif name.endswith("_id") and props.get(name[:-3]) is not None \
                    and props[name[:-3]].type == schema.STRING:
                # e.g. port_id of a Trunk: the id given as the port property
                outputs[name] = param(name[:-3])
            elif a.type in (a.LIST,):
                outputs[name] = []
            elif a.type in (a.MAP,):
                outputs[name] = {}
            elif a.type == a.BOOLEAN:
                outputs[name] = False
            elif a.type == a.INTEGER:
                outputs[name] = 0
            else:
                outputs[name] = ""
        outputs["OS::stack_id"] = STACK_ID

        template = {
            "heat_template_version": HOT_VERSION,
            "description": "Stand-in for %s on a Heat without the service behind "
                           "it (generated by generate.py from Heat's schema)." % res_type,
            "parameters": params,
            "resources": resources,
            "outputs": {k: {"value": v} for k, v in sorted(outputs.items())},
        }
        write(file_name, template)

    write_body_variants(env)


def write_body_variants(env):
    """The server body stand-ins swapped in by fault injection.

    They replace the ``OS::Heat::TestResource`` inside fake_server.yaml, so
    they mirror TestResource's interface (parameter ``value``; outputs
    ``output`` and ``show``).
    """
    common_params = {"value": {"type": "string", "default": ""}}
    fail = {
        "heat_template_version": HOT_VERSION,
        "description": "Server body that fails every create and update "
                       "(fault injection).",
        "parameters": common_params,
        "resources": {"injected_failure": {
            "type": "OS::Heat::TestResource",
            "properties": {"value": param("value"), "fail": True,
                           "action_wait_secs": {"create": 0, "update": 0, "delete": 0}}}},
        "outputs": {"output": {"value": {"get_attr": ["injected_failure", "output"]}},
                    "show": {"value": {"get_attr": ["injected_failure", "show"]}}},
    }
    write("fake_server_fail.yaml", fail)
    slow = {
        "heat_template_version": HOT_VERSION,
        "description": "Server body whose create and update take delay_secs "
                       "seconds (fault injection).",
        "parameters": dict(common_params, delay_secs={
            "type": "number", "default": 10,
            "description": "Seconds each create and update takes."}),
        "resources": {"injected_delay": {
            "type": "OS::Heat::TestResource",
            "properties": {"value": param("value"),
                           "action_wait_secs": {"create": param("delay_secs"),
                                                "update": param("delay_secs"),
                                                "delete": 0}}}},
        "outputs": {"output": {"value": {"get_attr": ["injected_delay", "output"]}},
                    "show": {"value": {"get_attr": ["injected_delay", "show"]}}},
    }
    write("fake_server_slow.yaml", slow)


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data):
        return True


def _str(dumper, data):
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _str)


def write(file_name, template):
    text = yaml.dump(template, Dumper=_Dumper, sort_keys=False, width=4096,
                     default_flow_style=False)
    # PyYAML would quote the version; Heat accepts it either way.
    with open(os.path.join(OUT_DIR, file_name), "w") as out:
        out.write("# Generated by generate.py; do not edit by hand.\n" + text)
    sys.stdout.write("wrote %s\n" % file_name)


if __name__ == "__main__":
    main()
