"""Heat templates the functional tests share: a ResourceGroup of servers.

Each member (``vdu.yaml``) is a port and an ``OS::Nova::Server`` on one
network, so the templates exercise the sandbox's Nova and Neutron stand-ins.
"""

GROUP_TEMPLATE = """\
heat_template_version: 2018-08-31
parameters:
  count: {type: number, default: 1}
  image: {type: string, default: cirros}
  flavor: {type: string, default: m1.tiny}
resources:
  net:
    type: OS::Neutron::Net
  subnet:
    type: OS::Neutron::Subnet
    properties: {network: {get_resource: net}, cidr: 192.168.10.0/24}
  vdu_group:
    type: OS::Heat::ResourceGroup
    properties:
      count: {get_param: count}
      resource_def:
        type: vdu.yaml
        properties:
          net: {get_resource: net}
          subnet: {get_resource: subnet}
          image: {get_param: image}
          flavor: {get_param: flavor}
          index: "%index%"
outputs:
  port_ips: {value: {get_attr: [vdu_group, port_ip]}}
  server_ips: {value: {get_attr: [vdu_group, server_ip]}}
  macs: {value: {get_attr: [vdu_group, mac]}}
  addresses: {value: {get_attr: [vdu_group, addresses]}}
  server_ids: {value: {get_attr: [vdu_group, server_id]}}
  gateway: {value: {get_attr: [subnet, gateway_ip]}}
"""

VDU_TEMPLATE = """\
heat_template_version: 2018-08-31
parameters:
  net: {type: string}
  subnet: {type: string}
  image: {type: string}
  flavor: {type: string}
  index: {type: string}
resources:
  port:
    type: OS::Neutron::Port
    properties:
      network: {get_param: net}
      fixed_ips: [{subnet: {get_param: subnet}}]
  server:
    type: OS::Nova::Server
    properties:
      name: {list_join: ['-', [vdu, {get_param: index}]]}
      flavor: {get_param: flavor}
      image: {get_param: image}
      networks: [{port: {get_resource: port}}]
outputs:
  port_ip: {value: {get_attr: [port, fixed_ips, 0, ip_address]}}
  mac: {value: {get_attr: [port, mac_address]}}
  server_ip: {value: {get_attr: [server, first_address]}}
  addresses: {value: {get_attr: [server, addresses]}}
  server_id: {value: {get_resource: server}}
"""
