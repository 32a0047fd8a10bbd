"""The egress firewall of functions with network on: nftables rules on the slot uids.

A run with network on uses the host's network namespace (the others have none: an empty
namespace in tier 1, no sockets at all by seccomp in tier 0). What it may reach there is
decided by three layers, each enforced by the kernel:

* seccomp: TCP and UDP sockets over IPv4/IPv6 only (no MPTCP, SCTP, raw, packet, netlink);
* Landlock (ABI >= 4): TCP connect only to the allowed ports (80 and 443), no TCP bind;
* this firewall, an ``inet`` table matched on the socket owner (``meta skuid``, the slot uid
  range) in the output hook, so it applies to runs only and to nothing else on the host:
  nothing to the host itself (any packet leaving through ``lo`` or to a local, broadcast or
  multicast address: loopback and the host's own addresses, any port, any protocol),
  nothing to private, shared (CGNAT), link-local, reserved or multicast ranges, UDP only to
  port 53 (DNS), and nothing but TCP and UDP. The resolvers named in ``/etc/resolv.conf``
  stay reachable on port 53 even in a private range (a cloud VPC's resolver), never on
  loopback.

A blocked TCP connect fails at once (``ECONNREFUSED``: the firewall answers with a reset,
reworded inside the run to say that functions may not reach the address), a blocked datagram
with ``EPERM``: never a timeout.

The table is named after the uid range, so servers with the same range share it; installing
replaces it atomically (one ``nft -f`` transaction), which makes it idempotent. It only ever
matches slot uids, so it is left in place when a server stops.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import subprocess

from .policy import UNREACHABLE_V4, UNREACHABLE_V6

NFT_TIMEOUT_S = 10.0
DNS_PORT = 53


def table_name(uid_first: int, uid_last: int) -> str:
    return f"runtree_egress_{uid_first}_{uid_last}"


def resolvers(path: str = "/etc/resolv.conf") -> tuple[list[str], list[str]]:
    """The non-loopback IPv4 and IPv6 name servers of ``path``."""
    v4: list[str] = []
    v6: list[str] = []
    try:
        with open(path) as file:
            lines = file.read().splitlines()
    except OSError:
        return v4, v6
    for line in lines:
        fields = line.split()
        if len(fields) < 2 or fields[0] != "nameserver":
            continue
        try:
            address = ipaddress.ip_address(fields[1].split("%")[0])
        except ValueError:
            continue
        if address.is_loopback or address.is_unspecified:
            continue
        (v4 if address.version == 4 else v6).append(str(address))
    return v4, v6


def ruleset(uid_first: int, uid_last: int, dns_v4: list[str], dns_v6: list[str]) -> str:
    """The nftables script that (re)creates the table for the slot uids
    ``uid_first..uid_last``."""
    name = table_name(uid_first, uid_last)
    uids = f"{uid_first}-{uid_last}"
    lines = [
        f"add table inet {name}",
        f"delete table inet {name}",
        f"table inet {name} {{",
        "  set blocked4 { type ipv4_addr; flags interval; elements = { "
        + ", ".join(UNREACHABLE_V4)
        + " } }",
        "  set blocked6 { type ipv6_addr; flags interval; elements = { "
        + ", ".join(UNREACHABLE_V6)
        + " } }",
        # A TCP connection refused with a reset fails at once (ECONNREFUSED); a dropped SYN
        # would only time out. Other packets are dropped, which fails the sending call with
        # EPERM.
        "  chain refuse {",
        "    meta l4proto tcp reject with tcp reset",
        "    drop",
        "  }",
        "  chain output {",
        "    type filter hook output priority filter; policy accept;",
        # (A packet without a socket -- the reset above -- matches no skuid.)
        f"    meta skuid {uids} jump slot_uids",
        "  }",
        "  chain slot_uids {",
        '    oifname "lo" goto refuse',
        "    fib daddr type { local, broadcast, multicast, anycast } goto refuse",
        "    meta l4proto != { tcp, udp } drop",
    ]
    for family, servers in (("ip", dns_v4), ("ip6", dns_v6)):
        if servers:
            lines.append(
                f"    {family} daddr {{ {', '.join(servers)} }} "
                f"meta l4proto {{ tcp, udp }} th dport {DNS_PORT} accept"
            )
    lines += [
        "    ip daddr @blocked4 goto refuse",
        "    ip6 daddr @blocked6 goto refuse",
        f"    meta l4proto udp udp dport != {DNS_PORT} drop",
        "  }",
        "}",
    ]
    return "\n".join(lines) + "\n"


def install(uid_first: int, uid_last: int) -> tuple[bool, str]:
    """Install (or replace) the table as root: whether it is in place, and what it does or
    why not."""
    nft = shutil.which("nft") or next(
        (p for p in ("/usr/sbin/nft", "/sbin/nft") if os.path.exists(p)), None
    )
    if nft is None:
        return False, "nft (nftables) is not installed"
    script = ruleset(uid_first, uid_last, *resolvers())
    try:
        done = subprocess.run(
            [nft, "-f", "-"],
            input=script.encode(),
            capture_output=True,
            timeout=NFT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as error:
        return False, f"could not run nft: {error}"
    if done.returncode != 0:
        text = done.stderr.decode(errors="replace").strip().splitlines()
        return False, f"nft refused the rules: {text[-1] if text else done.returncode}"
    return True, f"nftables table inet {table_name(uid_first, uid_last)}"
