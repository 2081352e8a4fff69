"""Handouts: an exercise as a Markdown page for students, with a picture of the exercise's own lab (drawn
from the lab model its `lab run` options make) on which the place of its fault is marked.

`lab workshop handout [EX...] [--lang en|zh] -o DIR` (no root, nothing built)
"""

from __future__ import annotations

import os
from typing import Callable, Dict, List, Sequence, Tuple

from lab import outfile, paths
from lab.errors import BadInput
from lab.front.draw import Mark
from lab.workshop.exercise import Exercise

# fault (the planes' catalogues, `lab fault list`) -> where it is in the topology picture and what is wrong
# there, from the fault's arguments (as the exercise's setup injects it); the catalogue's defaults when absent
Place = Callable[[List[str], str], Mark]


def _say(lang: str, en: str, zh: str) -> str:
    return zh if lang == "zh" else en


PLACES: Dict[str, Tuple[Tuple[str, ...], Place]] = {
    "flow-90": (("node1", "node2"), lambda a, lang: Mark(a[0], "br0", _say(
        lang, f"fault: {a[0]} br0 table 90, the flow to {a[1]}'s subnet is missing",
        f"故障：{a[0]} 的 br0 表 90 缺少去往 {a[1]} 子网的流表"))),
    "tun-src": (("node1", "node2"), lambda a, lang: Mark(a[0], "br0", _say(
        lang, f"fault: {a[0]} br0 table 10 no longer accepts VXLAN from {a[1]} (tun_src)",
        f"故障：{a[0]} 的 br0 表 10 不再接受来自 {a[1]} 的 VXLAN（tun_src）"))),
    "masquerade": (("node1",), lambda a, lang: Mark(a[0], "eth0", _say(
        lang, f"fault: {a[0]} iptables nat, the MASQUERADE rule is missing",
        f"故障：{a[0]} 的 iptables nat 表缺少 MASQUERADE 规则"))),
    "mtu": (("node1", "1500"), lambda a, lang: Mark(a[0], "tun0", _say(
        lang, f"fault: {a[0]} tun0 MTU {a[1]}, more than VXLAN leaves",
        f"故障：{a[0]} 的 tun0 MTU 为 {a[1]}，超过 VXLAN 封装后剩余的空间"))),
    "tx-checksum": (("pod1",), lambda a, lang: Mark(a[0], "", _say(
        lang, f"fault: {a[0]} eth0 TX checksum offload on (userspace datapath)",
        f"故障：{a[0]} 的 eth0 开启了发送校验和卸载（用户态数据路径）"))),
    "stale-arp": (("pod1", "pod2"), lambda a, lang: Mark(a[0], "", _say(
        lang, f"fault: {a[0]} holds a wrong neighbour (MAC) for its next hop to {a[1]}",
        f"故障：{a[0]} 中去往 {a[1]} 的下一跳邻居（MAC）是错的"))),
    "route": (("node1", "pod2"), lambda a, lang: Mark(a[0], "eth0", _say(
        lang, f"fault: {a[0]} has no route to {a[1]}",
        f"故障：{a[0]} 没有去往 {a[1]} 的路由"))),
    "vnid": (("pod1", "0x999"), lambda a, lang: Mark(a[0], "", _say(
        lang, f"fault: br0 table 20 loads a wrong VNID for {a[0]}",
        f"故障：br0 表 20 为 {a[0]} 加载了错误的 VNID"))),
    "fdb": (("node1", "node2"), lambda a, lang: Mark(a[0], "flannel.1", _say(
        lang, f"fault: {a[0]} flannel.1 has no FDB entry for {a[1]}'s VTEP",
        f"故障：{a[0]} 的 flannel.1 缺少 {a[1]} VTEP 的 FDB 表项"))),
    "neigh": (("node1", "node2"), lambda a, lang: Mark(a[0], "flannel.1", _say(
        lang, f"fault: {a[0]} flannel.1 has no neighbour entry for {a[1]}'s VTEP",
        f"故障：{a[0]} 的 flannel.1 缺少 {a[1]} VTEP 的邻居表项"))),
}


def _marks(*places: Tuple[str, str, str, str]) -> Callable[[str], List[Mark]]:
    return lambda lang: [Mark(host, dev, zh if lang == "zh" else en) for host, dev, en, zh in places]


# exercises whose setup breaks the lab by other means than a catalogue fault (an `oc` line, a link or a key
# deleted, a cable pulled): where their start is broken, as their setup and task say
STARTS: Dict[str, Callable[[str], List[Mark]]] = {
    "vxlan-by-hand": _marks(*[(h, "vxlan20", f"missing: {h}'s vxlan20 (VNI 20) is yours to make",
                               f"缺失：{h} 的 vxlan20（VNI 20）需要你来创建") for h in ("host1", "host2")]),
    "docker-vxlan": _marks(*[(h, "br0", f"missing: vxlan100 (VNI 100) on {h}'s docker bridge",
                              f"缺失：{h} 的 docker 网桥上的 vxlan100（VNI 100）") for h in ("host1", "host2")]),
    "etcd-restore": _marks(("etcd", "", "fault: node2's lease deleted from etcd", "故障：etcd 中 node2 的租约被删除")),
    "hostgw-router": _marks(
        ("node1", "eth0", "fault: node1 has no route to node2's subnet", "故障：node1 没有去往 node2 子网的路由"),
        ("node2", "eth0", "fault: node2 has no route to node1's subnet", "故障：node2 没有去往 node1 子网的路由"),
        ("router", "", "fault: the router has no route to the nodes' subnets", "故障：路由器没有去往各节点子网的路由")),
    "egress-node-down": _marks(("node2", "eth0", "fault: node2 unplugged (its cable pulled), p1's egress IP on it",
                                "故障：node2 已断开（网线被拔），p1 的出口 IP 在它上面")),
    "service-endpoints-by-label": _marks(("web", "", "fault: web labelled run=web, the Service selects app=web",
                                          "故障：web 的标签是 run=web，而 Service 选择 app=web")),
    "networkpolicy-one-app": _marks(("web", "", "fault: deny-all in shop, nothing lets frontend in",
                                     "故障：shop 中只有 deny-all，没有放行 frontend 的策略")),
    "join-projects": _marks(("pod2", "", "fault: project p2 has its own NETID (table 80 keeps it from p1)",
                             "故障：项目 p2 有自己的 NETID（表 80 将它与 p1 隔开）")),
    "global-project": _marks(("monitor", "", "fault: project monitoring has its own NETID, not the global 0",
                              "故障：项目 monitoring 有自己的 NETID，而不是全局的 0")),
    "multicast": _marks(("source", "", "fault: multicast not enabled on netnamespace stream",
                         "故障：netnamespace stream 未启用组播")),
}


def injected_faults(ex: Exercise) -> List[Tuple[str, List[str]]]:
    """The faults the exercise's setup injects, with their arguments: a setup made by
    lab.workshop.criteria.inject names them in its `faults` (read, never run)."""
    found = getattr(ex.setup, "faults", ())
    return [(str(n), [str(a) for a in args]) for n, *args in found]


def marks(ex: Exercise, lang: str = "en") -> List[Mark]:
    out = []
    for name, args in injected_faults(ex):
        if name in PLACES:
            defaults, place = PLACES[name]
            out.append(place(list(args) + list(defaults[len(args):]), lang))
    return out + (STARTS[ex.id](lang) if ex.id in STARTS else [])


def picture_dot(ex: Exercise, lang: str = "en") -> str:
    """The exercise's own lab (its topology with its `lab run` options), its fault marked, titled by it."""
    import topologies
    from lab import planes, run
    from lab.front import draw
    from lab.workshop.start import run_args as _run_args
    topology = topologies.load(ex.topology)
    _args, model = run.from_argv(topology, _run_args(ex, "handout")[1:])
    pic = planes.get(topology.plane).picture(model)
    pic.title = f"{ex.id}: {ex.text('title', lang)} - {pic.title}"
    return draw.topology_dot(pic, marks=marks(ex, lang))


def handout(ex: Exercise, lang: str, picture: str) -> str:
    """The exercise as a Markdown page for students: the lab's picture, the task, the questions, the
    hints folded away, and how to start and check it."""
    qs = [f"- `answer {q.key} VALUE`: {q.text.get(lang) or q.text['en']}"
          for stage in range(len(ex.stages) or 1) for q in ex.questions_at(stage)]
    word = "Stage" if lang == "en" else "阶段"
    stages = [line for i, st in enumerate(ex.stages, 1)  # a staged exercise: each stage's own task, in order
              for line in (f"### {word} {i}/{len(ex.stages)}: {st.title.get(lang) or st.title['en']}", "",
                           st.task.get(lang) or st.task["en"], "")]
    def fill(t: str) -> str:  # the lab's directory, for any lab name
        return t.replace("{lab_dir}", os.path.join(paths.RUN_DIR, "<lab name>" if lang == "en" else "<实验名>"))
    hs = [f"{i}. {fill(h)}" for i, h in enumerate(ex.hint_list(lang), 1)]
    heads = {"en": ("Task", "Questions", "Hints", "Start and check"), "zh": ("任务", "问题", "提示", "开始与检查")}[lang]
    who = "<your name>"  # a placeholder in a command line, as typed in either language
    other = "# from another shell" if lang == "en" else "# 在另一个终端中"
    return "\n".join([
        f"# {ex.text('title', lang)}", "", f"`{ex.id}` · {ex.topology} · ~{ex.minutes} min", "",
        f"![{ex.topology}]({os.path.basename(picture)})", "", f"## {heads[0]}", "",
        fill(ex.text("task", lang)), "", *[fill(line) for line in stages],
        *([f"## {heads[1]}", "", *qs, ""] if qs else []),
        f"## {heads[2]}", "", "<details>", "", *hs, "", "</details>", "",
        f"## {heads[3]}", "", "```sh", f"sudo lab workshop start {ex.id} --name {who}"
        + ("" if lang == "en" else " --lang zh"),
        "sdnlab> task | hint | answer Q VALUE | check | reset" + (" | stage [next]" if ex.stages else ""),
        f"sudo lab workshop check --name {who}       {other}", "```", ""])


def _handout_dir(directory: str) -> str:
    """-o DIR: made if missing (under a writable directory on a real filesystem), before any work."""
    parent = os.path.abspath(directory)
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    outfile.check_dir(parent, shown=directory)
    try:
        os.makedirs(directory, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"-o {directory}: {exc.strerror or exc}") from None
    return outfile.check_dir(directory)


def cmd_handout(argv: Sequence[str]) -> int:
    from lab.front import draw
    from lab.workshop.catalogue import CATALOGUE, exercise
    from lab.workshop.usage import parser as _parser
    p = _parser("list")
    p.add_argument("exercises", nargs="*")
    p.add_argument("-o", "--output", required=True, metavar="DIR", help="where EX.md and EX.svg go")
    a = p.parse_args(list(argv))
    chosen = [exercise(e) for e in a.exercises] if a.exercises else list(CATALOGUE.values())
    lang = a.lang or "en"
    outdir = _handout_dir(a.output)
    for ex in chosen:
        picture = draw.write(picture_dot(ex, lang), os.path.join(outdir, f"{ex.id}.svg"))
        page = outfile.write(os.path.join(outdir, f"{ex.id}.md"), handout(ex, lang, picture).encode())
        print(f"{'wrote' if lang == 'en' else '已写入'} {page} {'and' if lang == 'en' else '和'} {picture}")
    return 0
