"""Regions > datacenters > racks > servers, references to them by name, and the network between regions.

A site whose name is invalid or repeats an earlier one is reported once; the
sites declared under a repeated name (a copied block, or the racks and
servers generated from ``racks: 2``) are not reported again for repeating
the names under the first one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kchaos.model.cluster import Domain, Network
from kchaos.topology import definitions as D
from kchaos.topology.checker import MISSING, Checker, describe, format_path, known_list, suggest
from kchaos.topology.schema_common import DOMAIN_KINDS, MAX_SERVERS
from kchaos.topology.yamlsafe import Path

_RACK_COUNT = D.DATACENTER.fields["racks"].options[0]  # type: ignore[union-attr]
_SERVER_COUNT, _SERVER_NAMES = D.RACK.fields["servers"].options  # type: ignore[union-attr]


@dataclass
class _Site:
    kind: str
    name: str
    parent: int | None  # position in the parent kind's list
    line: int | None
    path: Path  # where the name is declared (a generated name: the count it comes from)
    lost: bool = False  # the name is invalid or repeated: references cannot reach this site
    shadowed: bool = False  # this site or an enclosing one repeats an earlier name
    generated: bool = False  # named from its parent's name and a count (``racks: 2`` -> <dc>-r1, <dc>-r2)
    index: int = -1  # domain index, assigned once all sites are known


class Sites:
    """Reads the site hierarchy, then resolves names (placements, network) against it."""

    def __init__(self, checker: Checker):
        self.c = checker
        self.sites: dict[str, list[_Site]] = {k: [] for k in DOMAIN_KINDS}
        self.names: dict[str, _Site] = {}
        self.server_total = 0
        self.too_many_servers = False
        self.names_ok = True  # every site was read and its name is valid (references can be checked)
        self.unknown: dict[str, list[tuple[str, Path, str]]] = {}  # kind -> (name, path, message), see finish()

    def domains(self) -> list[Domain]:
        """Regions, datacenters, racks and servers, in that order."""
        return [Domain(site.index, site.kind, site.name, self._parent_index(site), line=site.line)
                for kind in DOMAIN_KINDS for site in self.sites[kind]]

    def server_indices(self) -> list[int]:
        return [site.index for site in self.sites["server"]]

    # -- regions > datacenters > racks > servers ---------------------------
    def read(self, top: dict[str, Any]) -> None:
        c = self.c
        if "regions" not in top:
            if not c.already_reported(("regions",)):
                c.error(("regions",), "is required: the regions, datacenters, racks and servers the cluster runs on")
            self.names_ok = False
            return
        regions = c.sequence(top["regions"], ("regions",), "regions")
        if regions is None:
            self.names_ok = False
        for i, region in enumerate(regions or []):
            path = ("regions", i)
            m = c.section(region, path, D.REGION)
            pos = self.site("region", m, path, None)
            dcs = c.get(m, path, "datacenters", c.sequence, what="datacenters")
            if dcs is None:
                self.names_ok = False
            for j, dc in enumerate(dcs or []):
                if not self.datacenter(dc, path + ("datacenters", j), pos):
                    self.names_ok = False  # some servers are unknown: references cannot be checked
        offset = 0
        for kind in DOMAIN_KINDS:
            for pos, site in enumerate(self.sites[kind]):
                site.index = offset + pos
            offset += len(self.sites[kind])

    def datacenter(self, value: Any, path: Path, region: int) -> bool:
        """Read one datacenter with its racks and servers; False if some servers could not be read."""
        c = self.c
        m = c.section(value, path, D.DATACENTER)
        pos = self.site("datacenter", m, path, region)
        if m is None or "racks" not in m:
            return False
        racks, rpath = m["racks"], path + ("racks",)
        if isinstance(racks, list):
            if "serversPerRack" in m:
                c.error(path + ("serversPerRack",),
                        "only applies when racks is a count; give each listed rack its servers")
            if not racks:
                c.error(rpath, "must list at least one rack")
            complete = True
            for k, rack in enumerate(racks):
                q = rpath + (k,)
                rm = c.section(rack, q, D.RACK)
                rack_pos = self.site("rack", rm, q, pos)
                if rm is None or "servers" not in rm:
                    complete = False
                    continue
                complete &= self.servers(rm["servers"], q + ("servers",), rack_pos)
            return complete
        if isinstance(racks, (dict, str)) or racks is None:
            c.error(rpath, f"must be a number of racks or a list of racks, got {describe(racks)}")
            count = None
        else:
            count = c.scalar(racks, rpath, _RACK_COUNT)
        if "serversPerRack" not in m:
            if not c.already_reported(path + ("serversPerRack",)):
                c.error(path + ("serversPerRack",),
                        "is required when racks is a count (e.g. racks: 2, serversPerRack: 4)")
            return False
        per_rack = c.field(m, path, D.DATACENTER, "serversPerRack")
        if count is None or per_rack is None or not self.add_servers(count * per_rack, rpath):
            return False
        dc_name = self.sites["datacenter"][pos].name
        line = c.line(rpath)
        for k in range(1, count + 1):
            rack_name = f"{dc_name}-r{k}"
            rack_pos = self.add_site("rack", rack_name, pos, rpath, line, generated=True)
            for n in range(1, per_rack + 1):
                self.add_site("server", f"{rack_name}-s{n}", rack_pos, rpath, line, generated=True)
        return True

    def servers(self, value: Any, path: Path, rack: int) -> bool:
        """Read a rack's servers (a count or a list of names); False if they could not be read."""
        c = self.c
        if isinstance(value, list):
            if not value:
                c.error(path, "must list at least one server")
            if not self.add_servers(len(value), path):
                return False
            for k, item in enumerate(value):
                name = c.scalar(item, path + (k,), _SERVER_NAMES.items)
                self.add_site("server", name, rack, path + (k,), c.line(path + (k,)))
            return True
        if isinstance(value, (dict, str)) or value is None:
            c.error(path, f"must be a number of servers or a list of server names, got {describe(value)}")
            return False
        count = c.scalar(value, path, _SERVER_COUNT)
        if count is None or not self.add_servers(count, path):
            return False
        rack_name = self.sites["rack"][rack].name
        line = c.line(path)
        for n in range(1, count + 1):
            self.add_site("server", f"{rack_name}-s{n}", rack, path, line, generated=True)
        return True

    def add_servers(self, count: int, path: Path) -> bool:
        """Count servers before creating them; refuse absurd totals."""
        if self.too_many_servers:
            return False
        self.server_total += count
        if self.server_total > MAX_SERVERS:
            self.too_many_servers = True
            self.c.error(path, f"the topology declares more than {MAX_SERVERS} servers; "
                               "kchaos handles at most that many")
            return False
        return True

    def site(self, kind: str, m: dict[str, Any] | None, path: Path, parent: int | None) -> int:
        """Register the region / datacenter / rack declared by mapping ``m``; return its position."""
        name = None
        if m is not None and "name" in m:
            name = self.c.name(m["name"], path + ("name",))
        return self.add_site(kind, name, parent, path + ("name",), self.c.line(path + ("name",)))

    def add_site(self, kind: str, name: str | None, parent: int | None, path: Path, line: int | None,
                 generated: bool = False) -> int:
        """Register one site (``name`` None: invalid, already reported); report a repeated name once."""
        sites = self.sites[kind]
        up = None if parent is None else self.sites[DOMAIN_KINDS[DOMAIN_KINDS.index(kind) - 1]][parent]
        inside_repeat = up is not None and up.shadowed
        site = _Site(kind, name or f"<{kind} {len(sites) + 1}>", parent, line, path, shadowed=inside_repeat,
                     generated=generated)
        sites.append(site)
        if name is None:
            site.lost = True
            self.names_ok = False
        elif name in self.names:
            other = self.names[name]
            site.lost = site.shadowed = True
            if not inside_repeat:  # under a repeated name, repeats of the names under the first one follow
                first, second = sorted([(other.line or 0, other.kind), (line or 0, kind)])
                where = f"lines {first[0]} and {second[0]}" if first[0] != second[0] else f"both on line {line}"
                kinds = f": a {first[1]} and a {second[1]}" if other.kind != kind else ""
                origin = "generated by" if other.generated else "at"
                self.c.error(path, f"name '{name}' is used twice ({where}{kinds}); "
                                   f"first {origin} {format_path(other.path)}", line=line)
        else:
            self.names[name] = site
        return len(sites) - 1

    def _parent_index(self, site: _Site) -> int | None:
        if site.parent is None:
            return None
        up = DOMAIN_KINDS[DOMAIN_KINDS.index(site.kind) - 1]
        return self.sites[up][site.parent].index

    def resolve(self, value: Any, path: Path, kind: str) -> int | None:
        """The domain index of the ``kind`` named ``value``; an error naming what is known otherwise."""
        c = self.c
        if not isinstance(value, str):
            c.error(path, f"must be a {kind} name, got {describe(value)}")
            return None
        site = self.names.get(value)
        if site is not None and site.kind == kind:
            return site.index
        if site is not None:
            c.error(path, f"'{value}' is a {site.kind}, not a {kind}")
            return None
        if not self.names_ok:
            return None  # a declared name is invalid: the reference may be to it; already reported
        known = [site.name for site in self.sites[kind] if self.names.get(site.name) is site]
        hint = suggest(value, known) if len(known) <= 5000 else None
        message = (f"unknown {kind} '{value}' (referenced in {format_path(path)}); "
                   + (f"did you mean '{hint}'? " if hint else "") + f"known {kind}s: {known_list(known)}")
        if any(site.lost for site in self.sites[kind]):
            self.unknown.setdefault(kind, []).append((value, path, message))  # decided in finish()
        else:
            c.error(path, message)
        return None

    def finish(self) -> None:
        """Report the unknown names referenced while some site of their kind repeats an earlier name.

        A repeated name may stand where the referenced one was meant (``us``
        written ``eu``): the references are reported only when there are
        more distinct unknown names than repeated names of that kind.
        """
        for kind, refs in self.unknown.items():
            if len({value for value, _, _ in refs}) > sum(site.lost for site in self.sites[kind]):
                for _, path, message in refs:
                    self.c.error(path, message)
        self.unknown.clear()

    # -- network -----------------------------------------------------------
    def network(self, value: Any) -> Network:
        c, path = self.c, ("network",)
        net = None if value is MISSING or value is None else c.section(value, path, D.NETWORK)
        rtt_path = path + ("rtt",)
        rtt = c.get(net, path, "rtt", c.section, declared=D.RTT)
        same = {key: c.field(rtt, rtt_path, D.RTT, key) or D.RTT.fields[key].default for key in D.RTT.keys}
        region_rtt: dict[tuple[int, int], float] = {}
        pair_lines: dict[tuple[int, int], int | None] = {}
        # Regions that an unreadable entry may have been about (None: any region): their missing
        # RTTs are not reported, as they may be the ones the entry meant.
        unsure: set[int] | None = set()
        if c.already_reported(path) or (value is not MISSING and value is not None and net is None):
            unsure = None
        entries = c.get(net, path, "regions", c.sequence, what="{between: [a, b], rtt: 8ms} entries",
                        allow_empty=True)
        if entries is None and net is not None and ("regions" in net or c.already_reported(path + ("regions",))):
            unsure = None
        for i, entry in enumerate(entries or []):
            q = path + ("regions", i)
            m = c.section(entry, q, D.REGION_RTT)
            if m is None:
                unsure = None
                continue
            rtt_value = c.field(m, q, D.REGION_RTT, "rtt")
            between = m.get("between", MISSING)
            if between is MISSING:
                unsure = None
                continue
            if not isinstance(between, list) or len(between) != 2:
                c.error(q + ("between",), f"must be a list of two region names, got {describe(between)}")
                unsure = None
                continue
            a, b = (self.resolve(name, q + ("between", k), "region") for k, name in enumerate(between))
            if a is None or b is None or a == b:
                if a == b and a is not None:
                    c.error(q + ("between",), f"names region '{between[0]}' twice; an RTT is between two regions")
                if a is None and b is None:
                    unsure = None
                elif unsure is not None:
                    unsure.update(x for x in (a, b) if x is not None)
                continue
            key = (min(a, b), max(a, b))
            if key in pair_lines:
                c.error(q, f"the RTT between '{between[0]}' and '{between[1]}' is given twice "
                           f"(lines {pair_lines[key]} and {c.line(q)})")
                continue
            pair_lines[key] = c.line(q)
            if rtt_value is not None:
                region_rtt[key] = rtt_value
        self.missing_rtts(pair_lines, net, unsure)
        return Network(same["sameServer"], same["sameRack"], same["sameDatacenter"], same["sameRegion"], region_rtt)

    def missing_rtts(self, given: dict[tuple[int, int], int | None], net: dict[str, Any] | None,
                     unsure: set[int] | None) -> None:
        """Report the pairs of regions without an RTT, except those an earlier problem may explain."""
        if unsure is None:
            return
        regions = [r for r in self.sites["region"] if not r.lost and r.index not in unsure]
        missing = [(a, b) for i, a in enumerate(regions) for b in regions[i + 1:] if (a.index, b.index) not in given]
        path = ("network", "regions") if net is not None and "regions" in net else ("network",)
        for a, b in missing[:10]:
            self.c.error(path, f"no RTT between regions '{a.name}' and '{b.name}'; "
                               f"add {{between: [{a.name}, {b.name}], rtt: 8ms}}")
        if len(missing) > 10:
            self.c.error(path, f"... and {len(missing) - 10} more region pairs without an RTT "
                               f"(every pair of regions must be listed)")
