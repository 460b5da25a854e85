# -*- coding: utf-8 -*-
# Copyright: swarmops.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""VirtualBox VMs the way docker-machine built them, driven through VBoxManage.

read (VBoxManage queries only) -> build (pure) -> diff (pure: ordered actions, before/after)
-> apply (the only code that changes anything) -> wait (SSH on the 127.0.0.1 port forward).

Tested on CI against the simulated VBoxManage in tests/fakes, never against a real VirtualBox.
"""

from __future__ import annotations

import io
import ipaddress
import json
import os
import re
import socket
import traceback

from ansible_collections.swarmops.core.plugins.module_utils.plan import Plan, dispatch
from ansible_collections.swarmops.core.plugins.module_utils.runner import SwarmOpsError, clock
from ansible_collections.swarmops.core.plugins.module_utils.ssh_key import public_key_for

try:
    import pycdlib
    HAS_PYCDLIB = True
    PYCDLIB_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - exercised on hosts without pycdlib
    HAS_PYCDLIB = False
    PYCDLIB_IMPORT_ERROR = traceback.format_exc()

DEFINITION_KEY = "swarmops/definition"
SSH_USER_KEY = "swarmops/ssh_user"
SSH_KEY_FILE_KEY = "swarmops/ssh_key_file"
SEED_CONTROLLER = "swarmops-seed"
SSH_RULE = "ssh"
HOSTONLY_IP_PROPERTY = "/VirtualBox/GuestInfo/Net/1/V4/IP"  # Net/0 is the NAT NIC
RUNNING_STATES = ("running", "paused", "starting", "restoring")


class VBoxManage:
    """Runs VBoxManage; a failure raises SwarmOpsError carrying VBoxManage's own message."""

    def __init__(self, binary, run_command):
        if not binary:
            raise SwarmOpsError(
                "VBoxManage was not found on the PATH of the host this module runs on. Install "
                "VirtualBox there (it ships VBoxManage) or set vboxmanage to its full path.")
        self.binary = binary
        self._run_command = run_command

    def __call__(self, *args, **kwargs):
        rc, out, err = self.run(*args)
        if rc != 0:
            message = " ".join(line.replace("VBoxManage: error: ", "", 1).strip()
                               for line in err.splitlines()
                               if line.startswith("VBoxManage: error:") and "Details:" not in line
                               and "Context:" not in line) or err.strip() or out.strip()
            raise SwarmOpsError(
                "VBoxManage %s failed (rc=%d): %s%s" % (args[0], rc, message, kwargs.get("hint", "")),
                command=[self.binary] + list(args), rc=rc, stderr=err, stdout=out)
        return out

    def run(self, *args):
        return self._run_command([self.binary] + list(args))


# --------------------------------------------------------------------------- parsing (pure)

def parse_machinereadable(text):
    """`showvminfo --machinereadable` -> dict. Keys and values may be quoted."""
    info = {}
    for line in text.splitlines():
        match = re.match(r'^("(?:[^"]*)"|[^=]+)=(.*)$', line)
        if not match:
            continue
        key, value = match.group(1).strip('"'), match.group(2)
        if len(value) >= 2 and value.startswith('"') and value.endswith('"'):
            value = value[1:-1]
        info[key] = value
    return info


def parse_records(text):
    """Blank-line separated `Key: value` records (list hostonlyifs / dhcpservers)."""
    records, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                records.append(current)
            current = {}
            continue
        key, _, value = line.partition(":")
        current[key.strip()] = value.strip()
    if current:
        records.append(current)
    return records


def parse_vm_list(text):
    return [match.group(1) for match in re.finditer(r'^"(.*)" \{[0-9a-fA-F-]+\}$', text, re.M)]


def parse_value(text):
    """`guestproperty get` / `getextradata` -> the value, or None for "No value set!"."""
    match = re.search(r"^Value: (.*)$", text, re.M)
    return match.group(1).strip() if match else None


def vm_facts(info):
    """The settings this module manages, read from parsed showvminfo output."""
    forwards = [value for key, value in info.items() if key.startswith("Forwarding(")]
    ssh_port = None
    for rule in forwards:
        fields = rule.split(",")
        if fields[0] == SSH_RULE and len(fields) == 6:
            ssh_port = int(fields[3]) if fields[3] else None
    disk = None
    for index in range(16):
        ctl = info.get("storagecontrollername%d" % index)
        if ctl is None:
            break
        if ctl == SEED_CONTROLLER:
            continue
        for key in sorted(info):
            if key.startswith(ctl + "-") and re.match(r"^\d+-\d+$", key[len(ctl) + 1:]):
                value = info[key]
                if value not in ("none", "emptydrive", "") and not value.lower().endswith(".iso"):
                    disk = disk or value
    snapshots = [value for key, value in info.items() if key.startswith("SnapshotName")]
    return dict(
        uuid=info.get("UUID"), name=info.get("name"), state=info.get("VMState"),
        cfg_file=info.get("CfgFile"), cpus=int(info.get("cpus", 0)), memory=int(info.get("memory", 0)),
        nic1=info.get("nic1"), nic2=info.get("nic2"), hostonly_adapter=info.get("hostonlyadapter2"),
        mac2=info.get("macaddress2"), ssh_port=ssh_port, disk=disk, snapshots=snapshots,
        seed_attached=any(value == SEED_CONTROLLER for key, value in info.items()
                          if key.startswith("storagecontrollername")),
    )


# --------------------------------------------------------------------------- build (pure)

def definition(params):
    """What identifies "the same VM": where it came from. Compared, never changed in place."""
    if params.get("ova"):
        return {"import": os.path.abspath(params["ova"])}
    return {"clone": params["base_vm"], "linked": bool(params.get("linked_clone"))}


def hostonly_network(cidr, dhcp_lower=None, dhcp_upper=None):
    """docker-machine's host-only network from a CIDR such as 192.168.99.1/24.

    The host side takes the given address, the DHCP server .2, leases .100 to the top of the
    network (so the first VM gets 192.168.99.100, as in the seed).
    """
    try:
        iface = ipaddress.ip_interface(cidr)
    except ValueError as exc:
        raise SwarmOpsError("hostonly_cidr: %s" % exc)
    net = iface.network
    if net.version != 4 or net.num_addresses < 8:
        raise SwarmOpsError("hostonly_cidr: %s must be an IPv4 network of at least 8 addresses" % cidr)
    hosts = list(net.hosts())
    lower = dhcp_lower or str(hosts[min(99, len(hosts) // 2)])
    upper = dhcp_upper or str(hosts[-1])
    return dict(ip=str(iface.ip), netmask=str(net.netmask), server_ip=str(hosts[1] if hosts[0] == iface.ip else hosts[0]),
                lower=lower, upper=upper)


def desired_settings(params, adapter):
    return dict(cpus=params["cpus"], memory=params["memory"], ssh_port=params["ssh_port"],
                nic1="nat", nic2="hostonly", hostonly_adapter=adapter)


# --------------------------------------------------------------------------- diff (pure)

def diff_network(current_ifs, current_dhcp, net):
    """-> (adapter name or None if it has to be created, actions)."""
    actions = []
    adapter = None
    for nif in current_ifs:
        if nif.get("IPAddress") == net["ip"] and nif.get("NetworkMask") == net["netmask"]:
            adapter = nif["Name"]
            break
    if adapter is None:
        actions.append(dict(action="create_hostonlyif", ip=net["ip"], netmask=net["netmask"]))
    want = {"Dhcpd IP": net["server_ip"], "LowerIPAddress": net["lower"], "UpperIPAddress": net["upper"],
            "NetworkMask": net["netmask"], "Enabled": "Yes"}
    server = None
    if adapter is not None:
        server = next((srv for srv in current_dhcp
                       if srv.get("NetworkName") == "HostInterfaceNetworking-" + adapter), None)
    if server is None:
        actions.append(dict(action="add_dhcpserver", **net))
    elif any(server.get(key) != value for key, value in want.items()):
        actions.append(dict(action="modify_dhcpserver", **net))
    return adapter, actions


def diff_vm(actual, params, adapter, disk_capacity=None, net_actions=()):
    """Decide what to do for state present/running/stopped/absent. Pure."""
    if params["state"] == "absent":
        return _plan_absent(actual, params)
    plan = Plan(net_actions)
    want = desired_settings(params, adapter)
    if not actual:
        return _plan_create(plan, params, want)
    _refuse_foreign(actual, params)
    return _plan_change(plan, actual, params, want, disk_capacity)


def _plan_absent(actual, params):
    plan = Plan()
    if actual and actual["definition"] is None:
        raise SwarmOpsError(
            "A VM named '%s' exists (uuid %s) but was not created by swarmops.core.virtualbox_vm; "
            "not removing it. Remove it with VBoxManage unregistervm --delete if it is yours to remove."
            % (params["name"], actual["uuid"]), vm_uuid=actual["uuid"])
    if actual:
        plan.before = dict(state=actual["state"])
        plan.after = dict(state="absent")
        if actual["state"] in RUNNING_STATES:
            plan.add("poweroff")
        plan.add("unregister")
    return plan


def _plan_create(plan, params, want):
    plan.before = dict(state="absent")
    after = dict(want, state=_target_state(params["state"], "poweroff"), disk_size=params.get("disk_size"))
    plan.after = {key: value for key, value in after.items() if value is not None}
    plan.add("create", definition=definition(params))
    plan.add("modify", settings=want)
    if params.get("disk_size"):
        plan.add("resize", size=params["disk_size"])
    if params.get("ssh_key_file"):
        plan.add("seed")
    if params["state"] == "running":
        plan.add("start")
    return plan


def _refuse_foreign(actual, params):
    """A VM of that name this module did not create from the same source is never taken over."""
    if actual["definition"] != definition(params):
        found = actual["definition"]
        raise SwarmOpsError(
            "A VM named '%s' already exists (uuid %s) but %s; this module will not take it over. "
            "Remove it (state=absent) or choose another name."
            % (params["name"], actual["uuid"],
               "was not created by swarmops.core.virtualbox_vm" if found is None
               else "was created from %s, not from %s" % (json.dumps(found), json.dumps(definition(params)))),
            vm_uuid=actual["uuid"])


def _plan_change(plan, actual, params, want, disk_capacity):
    running = actual["state"] in RUNNING_STATES
    changed = {key: value for key, value in want.items()
               if value is not None and actual.get(key) != value}
    if changed:
        plan.before.update({key: actual.get(key) for key in changed})
        plan.after.update(changed)
    resize = params.get("disk_size") and disk_capacity is not None and params["disk_size"] != disk_capacity
    if resize:
        if params["disk_size"] < disk_capacity:
            raise SwarmOpsError(
                "disk_size %d MB is smaller than the VM's disk (%d MB): VirtualBox disks only grow."
                % (params["disk_size"], disk_capacity))
        plan.before["disk_size"], plan.after["disk_size"] = disk_capacity, params["disk_size"]
    target = _target_state(params["state"], actual["state"])
    if running and (changed or resize) and target != "poweroff" and not params.get("restart"):
        raise SwarmOpsError(
            "VM '%s' is running; changing %s needs it powered off. Set restart: true to let the "
            "module stop it, apply the change and start it again."
            % (params["name"], ", ".join(sorted(list(changed) + (["disk_size"] if resize else [])))),
            before=plan.before, after=plan.after)
    if running and (changed or resize or target == "poweroff"):
        plan.add("stop")
    if changed:
        plan.add("modify", settings=changed)
    if resize:
        plan.add("resize", size=params["disk_size"])
    if target == "running" and (not running or changed or resize):
        plan.add("start")
    if ("start" in plan.verbs()) != ("stop" in plan.verbs()):
        plan.before["state"], plan.after["state"] = actual["state"], "running" if "start" in plan.verbs() else "poweroff"
    return plan


def _target_state(state, current):
    return {"running": "running", "stopped": "poweroff"}.get(state, current)


# --------------------------------------------------------------------------- read

def read_vm(vbox, name, with_disk=False):
    if name not in parse_vm_list(vbox("list", "vms")):
        return None, None
    info = parse_machinereadable(vbox("showvminfo", name, "--machinereadable"))
    actual = vm_facts(info)
    raw = parse_value(vbox("getextradata", name, DEFINITION_KEY))
    actual["definition"] = json.loads(raw) if raw else None
    capacity = None
    if with_disk and actual["disk"]:
        match = re.search(r"^Capacity:\s+(\d+) MBytes", vbox("showmediuminfo", "disk", actual["disk"]), re.M)
        capacity = int(match.group(1)) if match else None
    return actual, capacity


def read_network(vbox):
    return parse_records(vbox("list", "hostonlyifs")), parse_records(vbox("list", "dhcpservers"))


def used_ssh_ports(vbox):
    ports = set()
    for name in parse_vm_list(vbox("list", "vms")):
        rc, out, _ = vbox.run("showvminfo", name, "--machinereadable")
        if rc == 0:
            ports.add(vm_facts(parse_machinereadable(out))["ssh_port"])
    return ports


def free_loopback_port(taken):
    """A TCP port free on 127.0.0.1 and not forwarded to any other VM (docker-machine's way)."""
    for _attempt in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port not in taken:
            return port
    raise SwarmOpsError("Could not find a free 127.0.0.1 port for the ssh forward; set ssh_port.")


# --------------------------------------------------------------------------- apply

LOCK_HINT = " (is the VM open in the VirtualBox GUI or another VBoxManage session?)"


def apply(vbox, plan, params, adapter):
    """Carry out the plan's actions in order; returns the host-only adapter (created or found)."""
    ctx = dict(adapter=adapter)
    for step in plan.actions:
        dispatch(STEPS, step["action"])(vbox, params, step, ctx)
    return ctx["adapter"]


def _create_hostonlyif(vbox, params, step, ctx):
    out = vbox("hostonlyif", "create")
    match = re.search(r"Interface '([^']+)' was successfully created", out)
    if not match:
        raise SwarmOpsError("VBoxManage hostonlyif create did not name the new interface: %s" % out)
    ctx["adapter"] = match.group(1)
    vbox("hostonlyif", "ipconfig", ctx["adapter"], "--ip", step["ip"], "--netmask", step["netmask"])


def _dhcpserver(vbox, params, step, ctx):
    vbox("dhcpserver", step["action"].split("_")[0], "--interface=" + ctx["adapter"],
         "--server-ip=" + step["server_ip"], "--netmask=" + step["netmask"],
         "--lower-ip=" + step["lower"], "--upper-ip=" + step["upper"], "--enable")


def _modify(vbox, params, step, ctx):
    name, settings = params["name"], step["settings"]
    args = []
    for key in ("cpus", "memory"):
        if key in settings:
            args += ["--" + key, str(settings[key])]
    if "nic1" in settings:
        args += ["--nic1", "nat"]
    if "nic2" in settings or "hostonly_adapter" in settings:
        args += ["--nic2", "hostonly", "--hostonlyadapter2", ctx["adapter"]]
    if "ssh_port" in settings:
        if vm_facts(parse_machinereadable(vbox("showvminfo", name, "--machinereadable")))["ssh_port"] is not None:
            args += ["--natpf1", "delete " + SSH_RULE]
        args += ["--natpf1", "%s,tcp,127.0.0.1,%d,,22" % (SSH_RULE, settings["ssh_port"])]
    if args:
        vbox("modifyvm", name, *args, hint=LOCK_HINT)


def _resize(vbox, params, step, ctx):
    actual, _ = read_vm(vbox, params["name"])
    vbox("modifymedium", "disk", actual["disk"], "--resize", str(step["size"]))


def _unregister(vbox, params, step, ctx):
    name = params["name"]
    actual, _ = read_vm(vbox, name)
    vbox("unregistervm", name, "--delete", hint=LOCK_HINT)
    seed = seed_path(actual["cfg_file"], name)
    if os.path.exists(seed):
        os.remove(seed)
        if not os.listdir(os.path.dirname(seed)):
            os.rmdir(os.path.dirname(seed))


STEPS = {
    "create_hostonlyif": _create_hostonlyif,
    "add_dhcpserver": _dhcpserver,
    "modify_dhcpserver": _dhcpserver,
    "create": lambda vbox, params, step, ctx: create(vbox, params),
    "modify": _modify,
    "resize": _resize,
    "seed": lambda vbox, params, step, ctx: attach_seed(vbox, params),
    "start": lambda vbox, params, step, ctx: vbox("startvm", params["name"], "--type", "headless", hint=LOCK_HINT),
    "stop": lambda vbox, params, step, ctx: stop(vbox, params["name"], params["stop_timeout"]),
    "poweroff": lambda vbox, params, step, ctx: vbox("controlvm", params["name"], "poweroff"),
    "unregister": _unregister,
}


def create(vbox, params):
    name = params["name"]
    base_args = ["--basefolder", params["base_folder"]] if params.get("base_folder") else []
    if params.get("ova"):
        vbox("import", os.path.abspath(params["ova"]), "--vsys", "0", "--vmname", name, *base_args)
    else:
        args = ["clonevm", params["base_vm"], "--name", name, "--register"] + base_args
        if params.get("linked_clone"):
            base = parse_machinereadable(vbox("showvminfo", params["base_vm"], "--machinereadable"))
            snapshot = params["base_snapshot"]
            if snapshot not in vm_facts(base)["snapshots"]:
                vbox("snapshot", params["base_vm"], "take", snapshot)
            args += ["--options", "link", "--snapshot", snapshot]
        vbox(*args)
    vbox("setextradata", name, DEFINITION_KEY, json.dumps(definition(params), sort_keys=True))
    vbox("setextradata", name, SSH_USER_KEY, params["ssh_user"])
    if params.get("ssh_key_file"):
        vbox("setextradata", name, SSH_KEY_FILE_KEY, os.path.abspath(params["ssh_key_file"]))


def stop(vbox, name, timeout):
    """ACPI shutdown like `docker-machine stop`; hard power-off if the guest ignores it."""
    vbox("controlvm", name, "acpipowerbutton")
    for dummy in clock(timeout, 1):
        if parse_machinereadable(vbox("showvminfo", name, "--machinereadable")).get("VMState") not in RUNNING_STATES:
            return
    vbox("controlvm", name, "poweroff")


# --------------------------------------------------------------------------- cloud-init seed

def seed_path(cfg_file, name):
    return os.path.join(os.path.dirname(cfg_file), name + "-seed.iso")


def cloud_init_files(name, instance_id, ssh_user, public_key, macs):
    """NoCloud seed: user-data (user + key), meta-data, network-config (DHCP on both NICs)."""
    user_data = "\n".join([
        "#cloud-config",
        "users:",
        "  - default",
        "  - name: %s" % ssh_user,
        "    sudo: ALL=(ALL) NOPASSWD:ALL",
        "    shell: /bin/bash",
        "    groups: [sudo]",
        "    ssh_authorized_keys:",
        "      - %s" % json.dumps(public_key.strip()),
        "ssh_pwauth: false",
        "",
    ])
    meta_data = "instance-id: %s\nlocal-hostname: %s\n" % (instance_id, name)
    lines = ["version: 2", "ethernets:"]
    for index, mac in enumerate(macs):
        pretty = ":".join(mac[i:i + 2] for i in range(0, 12, 2)).lower()
        lines += ["  nic%d:" % index, "    match:", "      macaddress: \"%s\"" % pretty,
                  "    dhcp4: true"]
    return {"user-data": user_data, "meta-data": meta_data, "network-config": "\n".join(lines) + "\n"}


def build_seed_iso(path, files):
    """Write an ISO 9660 image labelled `cidata` (Joliet + Rock Ridge names) with pycdlib."""
    if not HAS_PYCDLIB:
        raise SwarmOpsError("The pycdlib Python library is required to build the cloud-init seed ISO "
                            "on the host this module runs on: pip install pycdlib.",
                            exception=PYCDLIB_IMPORT_ERROR)
    iso = pycdlib.PyCdlib()
    iso.new(interchange_level=3, joliet=3, rock_ridge="1.09", vol_ident="cidata")
    for name, text in sorted(files.items()):
        data = text.encode("utf-8")
        short = re.sub(r"[^A-Z0-9_]", "", name.upper())[:8]
        iso.add_fp(io.BytesIO(data), len(data), "/%s.;1" % short, rr_name=name, joliet_path="/" + name)
    iso.write(path)
    iso.close()


def attach_seed(vbox, params):
    name = params["name"]
    info = parse_machinereadable(vbox("showvminfo", name, "--machinereadable"))
    actual = vm_facts(info)
    path = seed_path(actual["cfg_file"], name)
    macs = [info[key] for key in ("macaddress1", "macaddress2") if info.get(key)]
    build_seed_iso(path, cloud_init_files(name, actual["uuid"], params["ssh_user"],
                                          public_key_for(params["ssh_key_file"]), macs))
    if not actual["seed_attached"]:
        vbox("storagectl", name, "--name", SEED_CONTROLLER, "--add", "ide")
    vbox("storageattach", name, "--storagectl", SEED_CONTROLLER, "--port", "0", "--device", "0",
         "--type", "dvddrive", "--medium", path)


# --------------------------------------------------------------------------- wait

def wait_for_ssh(host, port, timeout):
    """Until an SSH banner answers on host:port. Only loopback: the NAT forward binds 127.0.0.1."""
    if not ipaddress.ip_address(host).is_loopback:
        raise SwarmOpsError("Refusing to wait for SSH on %s: only the 127.0.0.1 port forward is used." % host)
    last_error = "no answer"
    for dummy in clock(timeout, 1):
        try:
            with socket.create_connection((host, port), timeout=3) as sock:
                banner = sock.recv(256)
                if banner.startswith(b"SSH-"):
                    return banner.decode("ascii", "replace").strip()
                last_error = "no SSH banner (got %r)" % banner[:40]
        except OSError as exc:
            last_error = str(exc)
    raise SwarmOpsError("Timed out after %ds waiting for SSH on %s:%d: %s" % (timeout, host, port, last_error))


def hostonly_address(vbox, name, adapter, mac, timeout):
    """The host-only NIC's address: guest property Net/1/V4/IP (needs the Guest Additions), else
    the host-only DHCP server's lease for the NIC's MAC address (VirtualBox 6.1+)."""
    for dummy in clock(timeout, 2):
        address = parse_value(vbox("guestproperty", "get", name, HOSTONLY_IP_PROPERTY))
        if not address and adapter and mac:
            pretty = ":".join(mac[i:i + 2] for i in range(0, 12, 2))
            rc, out, _ = vbox.run("dhcpserver", "findlease", "--interface=" + adapter, "--mac-address=" + pretty)
            match = re.search(r"^IP Address:\s+(\S+)", out, re.M) if rc == 0 else None
            address = match.group(1) if match else None
        if address:
            return address
    return None


# --------------------------------------------------------------------------- the module's run

def ensure(vbox, params, check_mode):
    name = params["name"]
    if params["state"] != "absent" and not params.get("ova") and not params.get("base_vm"):
        raise SwarmOpsError("state=%s needs ova (an OVA/OVF to import) or base_vm (a VM to clone)." % params["state"])
    actual, capacity = read_vm(vbox, name, with_disk=bool(params.get("disk_size")))
    net_actions, adapter = [], None
    params = dict(params)
    if params["state"] != "absent":
        net = hostonly_network(params["hostonly_cidr"])
        adapter, net_actions = diff_network(*read_network(vbox), net=net)
        if actual is None and params["ssh_port"] is None:
            params["ssh_port"] = free_loopback_port(used_ssh_ports(vbox))
    plan = diff_vm(actual, params, adapter or "(new host-only interface)", capacity, net_actions)
    if plan and not check_mode:
        adapter = apply(vbox, plan, params, adapter)
    result = dict(changed=bool(plan), actions=plan.summary(), diff=plan.diff(),
                  name=name, uuid=None, state="absent", ssh_host="127.0.0.1", ssh_port=None,
                  ssh_user=params["ssh_user"], hostonly_interface=adapter, hostonly_ip=None)
    if params["state"] == "absent" or (check_mode and actual is None):
        if check_mode and actual is None and params["state"] != "absent":
            result.update(state=plan.after.get("state"), ssh_port=params["ssh_port"])
        return result
    if not check_mode:
        actual, _ = read_vm(vbox, name)
    result.update(uuid=actual["uuid"], state=actual["state"], ssh_port=actual["ssh_port"], cfg_file=actual["cfg_file"])
    if check_mode:
        result["state"] = plan.after.get("state", actual["state"])
    if params.get("ssh_key_file"):
        result["ssh_key_file"] = os.path.abspath(params["ssh_key_file"])
    if actual["state"] == "running":
        wait = params["wait"] and not check_mode
        if wait:
            result["ssh_banner"] = wait_for_ssh("127.0.0.1", actual["ssh_port"], params["wait_timeout"])
        result["hostonly_ip"] = hostonly_address(vbox, name, adapter, actual["mac2"],
                                                 params["wait_timeout"] if wait else 0)
        if not result["hostonly_ip"]:
            result["warnings"] = ["VM '%s' reports no host-only address yet (guest property %s and the DHCP "
                                  "lease are both empty)." % (name, HOSTONLY_IP_PROPERTY)]
    return result
