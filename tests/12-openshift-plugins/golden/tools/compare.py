#!/usr/bin/env python3
"""Compare a `lab run ... --script` output (sections `==== <event> <node> flows|iptables`, written by `<node> echo`,
Mininet turns the node name into its IP) with the goldens. Usage: compare.py OUT [golden-map...]
Prints, per section, the lines missing from the lab (in golden, not in dump) and extra in the lab."""
import re
import sys
from collections import defaultdict

IPS = {"172.16.1.11": "node1", "172.16.1.12": "node2", "172.16.1.13": "node3"}


def sections(path):
    out, cur = defaultdict(list), None
    for raw in open(path):
        m = re.match(r"^==== (\S+) (\S+) (flows|iptables)$", raw.strip())
        if m:
            cur = (m.group(1), IPS.get(m.group(2), m.group(2)), m.group(3))
            continue
        if cur:
            out[cur].append(raw.rstrip("\n"))
    res = {}
    for k, lines in out.items():
        if k[2] == "flows":
            res[k] = sorted(l.strip() for l in lines if "actions=" in l)
        else:
            res[k] = [l for l in lines if l[:1] in "*:-" or l == "COMMIT"]
    return res


def golden_flows(path):
    return sorted(l.rstrip("\n") for l in open(path) if l.strip() and not l.startswith("#"))


def golden_diff(path):
    per = defaultdict(lambda: (set(), set()))
    node = None
    for l in open(path):
        l = l.rstrip("\n")
        if l.startswith("@@ "):
            node = l[3:]
        elif l.startswith("+ "):
            per[node][0].add(l[2:])
        elif l.startswith("- "):
            per[node][1].add(l[2:])
    return per


def iptables_chains(lines):
    """{(table, chain): [rules]} and {(table, chain)} declared, trailing ` # x` annotations removed."""
    table, rules, declared = None, defaultdict(list), set()
    for l in lines:
        l = re.sub(r"\s+# [a-z]+$", "", l)
        if l.startswith("*"):
            table = l[1:]
        elif l.startswith(":"):
            declared.add((table, l[1:].split()[0]))
        elif l.startswith("-A "):
            rules[(table, l.split()[1])].append(l)
    return declared, rules


def report(title, want, got):
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    print(f"--- {title}: golden {len(want)}, lab {len(got)}, missing-in-lab {len(missing)}, extra-in-lab {len(extra)}")
    for x in missing:
        print(f"  MISSING {x}")
    for x in extra:
        print(f"  EXTRA   {x}")


def check_state(s, key, golden):
    report(f"{key[0]} {key[1]} vs {golden.split('/')[-1]}", golden_flows(golden), s[key])


def check_change(s, before, after, nodes, golden):
    g = golden_diff(golden)
    for nd in nodes:
        b, a = set(s[(before, nd, "flows")]), set(s[(after, nd, "flows")])
        want_add, want_rem = g[nd]
        got_add, got_rem = a - b, b - a
        print(f"--- change {before}->{after} {nd} vs {golden.split('/')[-1]}")
        for x in sorted(want_add - got_add):
            print(f"  MISSING-ADD {x}")
        for x in sorted(got_add - want_add):
            print(f"  EXTRA-ADD   {x}")
        for x in sorted(want_rem - got_rem):
            print(f"  MISSING-DEL {x}")
        for x in sorted(got_rem - want_rem):
            print(f"  EXTRA-DEL   {x}")
        print(f"  (golden +{len(want_add)} -{len(want_rem)}; lab +{len(got_add)} -{len(got_rem)})")


def check_iptables(lines, golden_path, only_prefixes=("KUBE-", "OPENSHIFT-")):
    gl = [l.rstrip("\n") for l in open(golden_path) if not l.startswith("#")]
    gd, gr = iptables_chains(gl)
    ld, lr = iptables_chains(lines)
    print(f"--- iptables vs {golden_path.split('/')[-1]}")

    def ours(tc):
        return tc[1].startswith(only_prefixes)
    for tc in sorted(x for x in gd - ld if ours(x)):
        print(f"  MISSING-CHAIN {tc}")
    for tc in sorted(x for x in ld - gd if ours(x)):
        print(f"  EXTRA-CHAIN   {tc}")
    for tc in sorted(set(gr) | set(lr)):
        builtin = not ours(tc)
        want = [r for r in gr.get(tc, [])]
        got = [r for r in lr.get(tc, []) if not builtin or any(p in r for p in (" -j KUBE-", " -j OPENSHIFT-")) or "hostports" in r]
        if builtin:
            want = [r for r in want if any(p in r for p in (" -j KUBE-", " -j OPENSHIFT-")) or "hostports" in r]
        for x in want:
            if x not in got:
                print(f"  MISSING {x}")
        for x in got:
            if x not in want:
                print(f"  EXTRA   {x}")
        if set(want) == set(got) and want != got and len(want) > 1:
            print(f"  ORDER   {tc}: golden {[w.split(' -j ')[-1] for w in want]} lab {[g.split(' -j ')[-1] for g in got]}")
