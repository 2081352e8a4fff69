"""`oc` command lines against the lab's cluster model (pure, apart from reading -f files).

A line is split as a shell splits it (shlex), its flags parsed once, and its verb looked up in VERBS.
A verb reads `ctx.cluster` and, to change the cluster, mutates `ctx.draft()` (a copy); nothing reaches the
live model here: lab.planes.openshift.live applies a draft to the nodes. A refusal is one Refused line worded as
oc words it, and the model is untouched. Another module adds a verb with `register("patch", fn, usage)`.
"""

from __future__ import annotations

import copy
import re
import shlex
from dataclasses import dataclass, field, fields, replace
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from lab.errors import BadInput, Refused
from lab.planes.openshift.api import egress
from lab.planes.openshift.api import manifests
from lab.planes.openshift.oc import printers as oc
from lab.planes.openshift.model import MULTITENANT_PLUGIN, Cluster
from lab.planes.openshift.api.objects import Namespace, check_labels
from lab.planes.openshift.master.vnid import allocate_netids, isolate_projects, join_projects, make_projects_global

# flags that take no value; every other flag takes one (`--to=p1`, `--to p1`, `-n p1`, `-np1`)
BOOL_FLAGS = {"--overwrite", "--all-namespaces", "-A", "--all"}
SHORT = {"-n": "--namespace", "-o": "--output", "-f": "--filename", "-p": "--patch", "-l": "--selector",
         "-A": "--all-namespaces"}
UNDELETABLE = ("default", "kube-system", "kube-public")  # the namespace lifecycle admission plugin keeps them


@dataclass
class OcArgs:
    """A parsed line: positional words and flags (long names; repeated flags keep every value)."""

    words: List[str]
    flags: Dict[str, List[str]] = field(default_factory=dict)

    def flag(self, name: str, default: Optional[str] = None) -> Optional[str]:
        values = self.flags.get(name)
        return values[-1] if values else default

    def has(self, name: str) -> bool:
        return name in self.flags

    def only(self, verb: str, allowed: Sequence[str]) -> None:
        for name in self.flags:
            if name not in allowed:
                raise Refused(f"error: unknown flag: {name} (oc {verb} takes: {', '.join(allowed) or 'no flags'})")

    @property
    def namespace(self) -> str:
        return self.flag("--namespace", "default")


def parse(line: str) -> OcArgs:
    """shlex words; flags out, positional words kept in order."""
    try:
        words = shlex.split(line)
    except ValueError as exc:
        raise BadInput(f"oc: cannot split the line as a shell would: {exc}") from None
    args = OcArgs([])
    i = 0
    while i < len(words):
        w = words[i]
        i += 1
        if w == "--":
            args.words += words[i:]
            break
        if not w.startswith("-") or w == "-":
            args.words.append(w)
            continue
        name, eq, value = w.partition("=")
        if not name.startswith("--") and name[:2] in SHORT and len(name) > 2 and not eq:
            name, value, eq = name[:2], name[2:], "="  # -owide, -nshop
        name = SHORT.get(name, name)
        if name in BOOL_FLAGS:
            if eq and value not in ("true", "false"):
                raise Refused(f"error: invalid argument {value!r} for {name}")
            if value != "false":
                args.flags.setdefault(name, []).append("true")
            continue
        if not eq:
            if i >= len(words):
                raise Refused(f"error: flag needs an argument: {w}")
            value, i = words[i], i + 1
        args.flags.setdefault(name, []).append(value)
    return args


def clone(cluster: Cluster) -> Cluster:
    """A copy whose object lists and maps can change without touching the original (objects are frozen)."""
    new = copy.copy(cluster)
    for f in fields(Cluster):
        value = getattr(cluster, f.name)
        if isinstance(value, (list, dict)):
            setattr(new, f.name, copy.copy(value))
    return new


class OcContext:
    def __init__(self, cluster: Cluster, args: OcArgs, line: str):
        self.cluster, self.args, self.line = cluster, args, line
        self.output: List[str] = []
        self._draft: Optional[Cluster] = None

    def draft(self) -> Cluster:
        """The cluster to change (made on first use)."""
        if self._draft is None:
            self._draft = clone(self.cluster)
        return self._draft

    def say(self, text: str) -> None:
        self.output.append(text)


@dataclass
class OcOutcome:
    output: str
    cluster: Optional[Cluster]  # the changed cluster, None when the line changes nothing


Verb = Callable[[OcContext], None]
VERBS: Dict[str, Tuple[Verb, str]] = {}


def register(name: str, fn: Verb, usage: str) -> None:
    VERBS[name] = (fn, usage)


def usage() -> str:
    return "; ".join(u for _fn, u in VERBS.values())


def run(cluster: Cluster, line: str) -> OcOutcome:
    """Answer one `oc ...` line (without the leading `oc`). Raises BadInput/Refused; the cluster is not touched."""
    args = parse(line)
    if args.words[:1] == ["oc"]:
        args.words = args.words[1:]
    if not args.words or args.words[0] not in VERBS:
        if not args.words:
            raise BadInput(f"oc: give a command ({', '.join(VERBS)})")
        raise Refused(f'Error: unknown command "{args.words[0]}" for "oc" (the lab knows: {", ".join(VERBS)})')
    verb = args.words.pop(0)
    ctx = OcContext(cluster, args, line)
    VERBS[verb][0](ctx)
    draft = ctx._draft
    if draft is not None:
        _settle(cluster, draft)
    return OcOutcome("\n".join(ctx.output), draft)


def _settle(old: Cluster, draft: Cluster) -> None:
    """What the master does after any change: every namespace has its NetNamespace (VNID plugins), and a
    pod keeps the lab host it had (a new pod whose name another namespace uses becomes `name.namespace`)."""
    if old.netids:
        names = [n.name for n in draft.namespaces]
        draft.set_netids(allocate_netids(names, existing={k: v for k, v in draft.netids.items() if k in names}))
    hosts = {p.key: p.host for p in old.pods}
    taken = {hs.name for hs in draft.hostsubnets} | {"underlay"} | ({draft.external.name} if draft.external else set())
    taken |= {hosts[p.key] for p in draft.pods if p.key in hosts}
    pods = []
    for p in draft.pods:
        if p.key in hosts:
            p = replace(p, host=hosts[p.key])
        else:
            host = p.name if p.name not in taken else f"{p.name}.{p.namespace}"
            if host in taken:
                raise Refused(f"error: pod {p.key}: its lab host name {host!r} is taken by another host")
            p = replace(p, host=host)
            taken.add(host)
        pods.append(p)
    draft.pods = pods


# --- kinds -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Kind:
    name: str  # singular, as `oc delete` reports (`pod "x" deleted`)
    plural: str  # as the API names the resource in errors (`pods "x" not found`)
    aliases: Tuple[str, ...]
    namespaced: bool = True


KINDS = [
    Kind("pod", "pods", ("pod", "pods", "po")),
    Kind("service", "services", ("service", "services", "svc")),
    Kind("endpoints", "endpoints", ("endpoints", "ep")),
    Kind("networkpolicy.networking.k8s.io", "networkpolicies.networking.k8s.io",
         ("networkpolicy", "networkpolicies", "netpol")),
    Kind("namespace", "namespaces", ("namespace", "namespaces", "ns"), namespaced=False),
    Kind("project.project.openshift.io", "projects.project.openshift.io", ("project", "projects"), namespaced=False),
    Kind("netnamespace.network.openshift.io", "netnamespaces.network.openshift.io",
         ("netnamespace", "netnamespaces"), namespaced=False),
    Kind("hostsubnet.network.openshift.io", "hostsubnets.network.openshift.io", ("hostsubnet", "hostsubnets"),
         namespaced=False),
    Kind("clusternetwork.network.openshift.io", "clusternetworks.network.openshift.io",
         ("clusternetwork", "clusternetworks"), namespaced=False),
    Kind("egressnetworkpolicy.network.openshift.io", "egressnetworkpolicies.network.openshift.io",
         ("egressnetworkpolicy", "egressnetworkpolicies")),
]


def kind_of(word: str) -> Kind:
    for k in KINDS:
        if word.lower() in k.aliases or word.lower().split(".")[0] in k.aliases:
            return k
    raise Refused(f'error: the server doesn\'t have a resource type "{word}"')


def not_found(kind: Kind, name: str) -> Refused:
    return Refused(f'Error from server (NotFound): {kind.plural} "{name}" not found')


def _check_namespace(cluster: Cluster, name: str) -> None:
    if name not in (n.name for n in cluster.namespaces):
        raise Refused(f'Error from server (NotFound): namespaces "{name}" not found')


# --- get ---------------------------------------------------------------------------------------------

TABLES = {"pods": oc.get_pods, "services": oc.get_services, "endpoints": oc.get_endpoints,
          "networkpolicies.networking.k8s.io": oc.get_networkpolicies,
          "egressnetworkpolicies.network.openshift.io": oc.get_egressnetworkpolicies}


def _objects(cluster: Cluster, kind: Kind, namespace: Optional[str]) -> List[Tuple[str, dict]]:
    """(name, API object) of a kind, in the API server's order."""
    def here(obj) -> bool:
        return namespace is None or obj.namespace == namespace
    if kind.plural == "pods":
        return [(p.name, oc.pod_object(cluster, p)) for p in cluster.pods if here(p)]
    if kind.plural == "services":
        return [(s.name, oc.service_object(cluster, s))
                for s in sorted(cluster.services, key=lambda s: s.key) if here(s)]
    if kind.plural.startswith("networkpolicies"):
        return [(p.name, oc.policy_object(cluster, p))
                for p in sorted(cluster.policies, key=lambda p: p.key) if here(p)]
    if kind.plural in ("namespaces", "projects.project.openshift.io"):
        return [(n.name, oc.namespace_object(cluster, n)) for n in sorted(cluster.namespaces, key=lambda n: n.name)]
    if kind.plural.startswith("netnamespaces"):
        return [(n.name, oc.netnamespace_object(cluster, n)) for n in sorted(cluster.netnamespaces, key=lambda n: n.name)]
    if kind.plural.startswith("egressnetworkpolicies"):
        return [(p.name, oc.egressnetworkpolicy_object(cluster, p))
                for p in sorted(cluster.egress_policies, key=lambda p: p.key) if here(p)]
    raise Refused(f"error: -o yaml is not offered for {kind.plural} in the lab")


def do_get(ctx: OcContext) -> None:
    args, cluster = ctx.args, ctx.cluster
    args.only("get", ["--namespace", "--all-namespaces", "--output"])
    if not args.words or len(args.words) > 2:
        raise BadInput(f"oc: usage: {VERBS['get'][1]}")
    kind = kind_of(args.words[0])
    name = args.words[1] if len(args.words) == 2 else None
    output = args.flag("--output", "")
    if output not in ("", "wide", "yaml"):
        raise Refused(f"error: unable to match a printer suitable for the output format \"{output}\" "
                      "(the lab prints: wide, yaml)")
    namespace: Optional[str] = None if args.has("--all-namespaces") and name is None else args.namespace
    if kind.namespaced and namespace is not None:
        _check_namespace(cluster, namespace)
    if kind.plural.startswith("netnamespaces") and not cluster.netids:
        raise Refused('error: the server doesn\'t have a resource type "netnamespaces"')
    if output == "yaml":
        objs = _objects(cluster, kind, namespace if kind.namespaced else None)
        if name is not None:
            objs = [o for o in objs if o[0] == name]
            if not objs:
                raise not_found(kind, name)
        ctx.say(oc.as_yaml([o for _n, o in objs], single=name is not None))
        return
    if kind.plural in TABLES:
        text = TABLES[kind.plural](cluster, namespace=namespace, wide=output == "wide")
    elif kind.plural.startswith("netnamespaces"):
        text = oc.get_netnamespaces(cluster)
    elif kind.plural.startswith("hostsubnets"):
        text = oc.get_hostsubnets(cluster)
    elif kind.plural.startswith("clusternetworks"):
        text = oc.get_clusternetwork(cluster)
    else:
        text = oc.get_namespaces(cluster)
    if name is not None:  # the header and the named row
        lines = text.splitlines()
        rows = [r for r in lines[1:] if r.split()[0] == name]
        if not rows:
            raise not_found(kind, name)
        text = "\n".join(lines[:1] + rows)
    ctx.say(text)


# --- create / apply ------------------------------------------------------------------------------------

def _documents(ctx: OcContext, verb: str) -> List[manifests.Document]:
    ctx.args.only(verb, ["--filename", "--namespace"])
    files = ctx.args.flags.get("--filename")
    if not files or ctx.args.words:
        raise BadInput(f"oc: usage: {VERBS[verb][1]}")
    docs = manifests.load_paths(files)
    if ctx.args.has("--namespace"):  # -n fills in a namespace the objects do not name
        ns = ctx.args.namespace
        docs = [(src, _with_namespace(obj, ns)) for src, obj in docs]
    return docs


def _with_namespace(obj: dict, namespace: str) -> dict:
    if obj.get("kind") in ("Namespace", "Project") or not isinstance(obj.get("metadata"), dict):
        return obj
    obj = copy.deepcopy(obj)
    given = obj["metadata"].get("namespace")
    if given and given != namespace:
        raise Refused(f"error: the namespace from the provided object \"{given}\" does not match the namespace "
                      f"\"{namespace}\". You must pass '--namespace={given}' to perform this operation.")
    obj["metadata"]["namespace"] = namespace
    return obj


def _identity(obj: dict) -> Tuple[str, str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    kind = obj.get("kind")
    ns = "" if kind in ("Namespace", "Project") else (meta.get("namespace") or "default")
    return str(kind), ns, str(meta.get("name"))


def _exists(cluster: Cluster, kind: str, ns: str, name: str) -> bool:
    if kind in ("Namespace", "Project"):
        return any(n.name == name for n in cluster.namespaces)
    if kind == "Pod":
        return any(p.key == f"{ns}/{name}" for p in cluster.pods)
    if kind == "Service":
        return any(s.key == f"{ns}/{name}" for s in cluster.services)
    if kind == "NetworkPolicy":
        return any(p.key == f"{ns}/{name}" for p in cluster.policies)
    if kind == "Deployment":
        return bool(_replicas(cluster, ns, name))
    if kind == "EgressNetworkPolicy":
        return any(p.key == f"{ns}/{name}" for p in cluster.egress_policies)
    return False


def _replicas(cluster: Cluster, ns: str, name: str) -> list:
    pattern = re.compile(rf"^{re.escape(name)}-\d+$")
    return [p for p in cluster.pods if p.namespace == ns and pattern.match(p.name)]


RESOURCE = {"Namespace": "namespaces", "Project": "projects.project.openshift.io", "Pod": "pods",
            "Service": "services", "NetworkPolicy": "networkpolicies.networking.k8s.io",
            "Deployment": "deployments.apps", "EgressNetworkPolicy": "egressnetworkpolicies.network.openshift.io"}
CREATED = {"Namespace": "namespace", "Project": "project.project.openshift.io", "Pod": "pod", "Service": "service",
           "NetworkPolicy": "networkpolicy.networking.k8s.io", "Deployment": "deployment.apps",
           "EgressNetworkPolicy": "egressnetworkpolicy.network.openshift.io",
           "HostSubnet": "hostsubnet.network.openshift.io", "NetNamespace": "netnamespace.network.openshift.io"}


def _namespaces_first(docs: List[manifests.Document]) -> List[manifests.Document]:
    return [d for d in docs if d[1].get("kind") in ("Namespace", "Project")] + \
           [d for d in docs if d[1].get("kind") not in ("Namespace", "Project")]


def do_create(ctx: OcContext) -> None:
    docs = _documents(ctx, "create")
    seen = set()
    for source, obj in docs:
        kind, ns, name = _identity(obj)
        if _exists(ctx.cluster, kind, ns, name) or (kind, ns, name) in seen:
            raise Refused(f'Error from server (AlreadyExists): error when creating "{source}": '
                          f'{RESOURCE.get(kind, kind)} "{name}" already exists')
        seen.add((kind, ns, name))
    manifests.apply_documents(ctx.draft(), docs)
    _network_objects(ctx, docs)
    for _src, obj in _namespaces_first(docs):
        kind, _ns, name = _identity(obj)
        # a HostSubnet or NetNamespace exists with its node or namespace: a manifest sets its fields
        ctx.say(f'{CREATED.get(kind, kind)}/{name} {"configured" if kind in egress.KINDS[:2] else "created"}')


def do_apply(ctx: OcContext) -> None:
    docs = _documents(ctx, "apply")
    draft = ctx.draft()
    for source, obj in _namespaces_first(docs):
        kind, ns, name = _identity(obj)
        if kind in egress.KINDS:
            _network_objects(ctx, [(source, obj)])
            ctx.say(f"{CREATED.get(kind, kind)}/{name} configured")
            continue
        if not _exists(draft, kind, ns, name):
            manifests.apply_documents(draft, [(source, obj)])
            verb = "created"
        else:
            verb = "configured" if _update(draft, kind, ns, name, source, obj) else "unchanged"
        ctx.say(f"{CREATED.get(kind, kind)}/{name} {verb}")


def _network_objects(ctx: OcContext, docs: List[manifests.Document]) -> None:
    """HostSubnet and NetNamespace fields, EgressNetworkPolicies (lab.planes.openshift.api.egress), once the namespaces
    made by the same line have their NetNamespaces."""
    docs = [d for d in docs if d[1].get("kind") in egress.KINDS]
    if docs:
        _settle(ctx.cluster, ctx.draft())
        egress.apply_documents(ctx.draft(), docs)


def _scratch(draft: Cluster, source: str, obj: dict, drop: Callable[[Cluster], None]):
    """The object as a create would make it, in a copy of the cluster without its old self."""
    scratch = clone(draft)
    drop(scratch)
    manifests.apply_documents(scratch, [(source, obj)])
    return scratch


def _update(draft: Cluster, kind: str, ns: str, name: str, source: str, obj: dict) -> bool:
    """`oc apply` of an object that exists: its new state replaces the old where the API allows. True if changed."""
    key = f"{ns}/{name}"
    if kind in ("Namespace", "Project"):
        meta = obj.get("metadata") or {}
        labels = check_labels(meta.get("labels"), f"{source}: {kind} {name}: metadata.labels")
        i = next(i for i, n in enumerate(draft.namespaces) if n.name == name)
        if draft.namespaces[i].labels == labels:
            return False
        draft.namespaces[i] = Namespace(name, labels)
        return True
    if kind == "Pod":
        i = next(i for i, p in enumerate(draft.pods) if p.key == key)
        old = draft.pods[i]
        pinned = ((obj.get("spec") or {}).get("nodeName"))
        obj = copy.deepcopy(obj)
        (obj.setdefault("spec", {}) if isinstance(obj.get("spec"), dict) else {})["nodeName"] = pinned or old.node
        new = next(p for p in _scratch(draft, source, obj, lambda c: c.pods.pop(i)).pods if p.key == key)
        if (new.node, new.ports) != (old.node, old.ports):
            raise Refused(f'The Pod "{name}" is invalid: spec: Forbidden: pod updates may not change fields other '
                          "than `spec.containers[*].image`, `spec.initContainers[*].image`, "
                          "`spec.activeDeadlineSeconds` or `spec.tolerations` (only additions to existing tolerations)")
        if (new.labels, new.image) == (old.labels, old.image):
            return False
        draft.pods[i] = replace(old, labels=new.labels, image=new.image)
        return True
    if kind == "Service":
        i = next(i for i, s in enumerate(draft.services) if s.key == key)
        old = draft.services[i]
        obj = copy.deepcopy(obj)
        spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
        given = spec.get("clusterIP")
        if given and given != old.cluster_ip:
            raise Refused(f'The Service "{name}" is invalid: spec.clusterIP: Invalid value: "{given}": '
                          "field is immutable")
        spec["clusterIP"] = old.cluster_ip
        for port in spec.get("ports") or []:  # an allocated nodePort stays with its port
            kept = next((sp.node_port for sp in old.ports if isinstance(port, dict) and sp.node_port
                         and (sp.port, sp.protocol) == (port.get("port"), port.get("protocol", "TCP"))), 0)
            if kept and "nodePort" not in port and spec.get("type") == "NodePort":
                port["nodePort"] = kept
        new = next(s for s in _scratch(draft, source, obj, lambda c: c.services.pop(i)).services if s.key == key)
        if new == old and new.selector == old.selector:
            return False
        draft.services[i] = new
        return True
    if kind == "NetworkPolicy":
        i = next(i for i, p in enumerate(draft.policies) if p.key == key)
        old = draft.policies[i]
        new = next(p for p in _scratch(draft, source, obj, lambda c: c.policies.pop(i)).policies if p.key == key)
        if new.spec == old.spec:
            return False
        draft.policies[i] = new
        return True
    if kind == "Deployment":
        return _update_deployment(draft, ns, name, source, obj)
    raise BadInput(f"{source}: oc apply cannot update a {kind} in the lab")


def _update_deployment(draft: Cluster, ns: str, name: str, source: str, obj: dict) -> bool:
    """The lab keeps a Deployment's pods as they were made: applying the same template and replicas again is
    unchanged; another template or count is refused (delete the pods and apply again)."""
    old = _replicas(draft, ns, name)
    made = _replicas(_scratch(draft, source, obj, lambda c: c.pods.__setitem__(
        slice(None), [p for p in c.pods if p not in old])), ns, name)
    shape = lambda pods: sorted((p.name, tuple(sorted(p.labels.items())), p.ports, p.image) for p in pods)  # noqa: E731
    if shape(made) != shape(old):
        raise Refused(f"error: the lab does not roll out a changed Deployment {ns}/{name}: delete its pods "
                      f"(oc delete pod {' '.join(p.name for p in old)} -n {ns}) and apply it again")
    return False


# --- delete ------------------------------------------------------------------------------------------

def do_delete(ctx: OcContext) -> None:
    args = ctx.args
    args.only("delete", ["--namespace"])
    if len(args.words) < 2:
        raise BadInput(f"oc: usage: {VERBS['delete'][1]}")
    kind = kind_of(args.words[0])
    ns = args.namespace
    draft = ctx.draft()
    if kind.namespaced:
        _check_namespace(draft, ns)
    for name in args.words[1:]:
        key = f"{ns}/{name}"
        if kind.plural == "pods":
            if not any(p.key == key for p in draft.pods):
                raise not_found(kind, name)
            draft.pods = [p for p in draft.pods if p.key != key]
        elif kind.plural == "services":
            if not any(s.key == key for s in draft.services):
                raise not_found(kind, name)
            draft.services = [s for s in draft.services if s.key != key]
        elif kind.plural.startswith("networkpolicies"):
            if not any(p.key == key for p in draft.policies):
                raise not_found(kind, name)
            draft.policies = [p for p in draft.policies if p.key != key]
        elif kind.plural.startswith("egressnetworkpolicies"):
            egress.delete_egress_network_policy(draft, ns, name)
        elif kind.plural in ("namespaces", "projects.project.openshift.io"):
            if not any(n.name == name for n in draft.namespaces):
                raise not_found(kind, name)
            if name in UNDELETABLE:
                raise Refused(f'Error from server (Forbidden): {kind.plural} "{name}" is forbidden: '
                              "this namespace may not be deleted")
            # the namespace controller deletes what it holds; the master releases its NetNamespace
            draft.namespaces = [n for n in draft.namespaces if n.name != name]
            draft.pods = [p for p in draft.pods if p.namespace != name]
            draft.services = [s for s in draft.services if s.namespace != name]
            draft.policies = [p for p in draft.policies if p.namespace != name]
            draft.netnamespaces = [n for n in draft.netnamespaces if n.name != name]
            draft.egress_policies = [p for p in draft.egress_policies if p.namespace != name]
        else:
            raise Refused(f"error: the lab does not delete {kind.plural}")
        ctx.say(f'{kind.name} "{name}" deleted')


# --- label -------------------------------------------------------------------------------------------

def do_label(ctx: OcContext) -> None:
    args = ctx.args
    args.only("label", ["--namespace", "--overwrite"])
    if len(args.words) < 3:
        raise BadInput(f"oc: usage: {VERBS['label'][1]}")
    kind = kind_of(args.words[0])
    name, changes = args.words[1], args.words[2:]
    draft = ctx.draft()
    if kind.plural == "pods":
        _check_namespace(draft, args.namespace)
        index = next((i for i, p in enumerate(draft.pods) if p.key == f"{args.namespace}/{name}"), None)
        current = draft.pods[index].labels if index is not None else None
    elif kind.plural in ("namespaces", "projects.project.openshift.io"):
        index = next((i for i, n in enumerate(draft.namespaces) if n.name == name), None)
        current = draft.namespaces[index].labels if index is not None else None
    else:
        raise Refused(f"error: the lab labels pods and namespaces, not {kind.plural}")
    if index is None:
        raise not_found(kind, name)
    labels = dict(current)
    for word in changes:
        if word.endswith("-") and "=" not in word:
            labels.pop(word[:-1], None)
            continue
        key, eq, value = word.partition("=")
        if not eq:
            raise Refused(f"error: at least one label update is required (not {word!r}: write key=value or key-)")
        check_labels({key: value}, "error: invalid label spec")
        if key in current and current[key] != value and not args.has("--overwrite"):
            raise Refused(f"error: '{key}' already has a value ({current[key]}), and --overwrite is false")
        labels[key] = value
    short = kind.name.split(".")[0]
    if labels == current:
        ctx.say(f"{short}/{name} not labeled")
        return
    if kind.plural == "pods":
        draft.pods[index] = replace(draft.pods[index], labels=labels)
    else:
        draft.namespaces[index] = Namespace(name, labels)
    ctx.say(f"{short}/{name} labeled")


# --- adm pod-network ---------------------------------------------------------------------------------

def do_adm(ctx: OcContext) -> None:
    args = ctx.args
    if args.words[:1] != ["pod-network"] or len(args.words) < 2:
        raise BadInput(f"oc: usage: {VERBS['adm'][1]}")
    action, projects = args.words[1], args.words[2:]
    actions = {"join-projects": ["--to"], "make-projects-global": [], "isolate-projects": []}
    if action not in actions:
        raise Refused(f'error: unknown command "{action}" for "oc adm pod-network"')
    args.only(f"adm pod-network {action}", actions[action])
    cluster = ctx.cluster
    if cluster.network.plugin != MULTITENANT_PLUGIN:
        raise Refused(f'error: using plugin: "{cluster.network.plugin}", managing pod network is only supported '
                      "for openshift multitenant network plugin")
    if not projects:
        raise Refused("error: must provide --selector=<project_selector> or projects")
    try:
        if action == "join-projects":
            to = args.flag("--to")
            if not to:
                raise Refused("error: must provide --to=<project_name>")
            netids = join_projects(cluster.netids, to, projects)
        elif action == "make-projects-global":
            netids = make_projects_global(cluster.netids, projects)
        else:
            netids = isolate_projects(cluster.netids, projects)
    except Refused:
        raise
    except BadInput as exc:
        raise Refused(f"error: {exc}") from None
    ctx.draft().set_netids(netids)


register("get", do_get, "oc get KIND [NAME] [-n NS | --all-namespaces] [-o wide|yaml]")
register("create", do_create, "oc create -f FILE [-f FILE...]")
register("apply", do_apply, "oc apply -f FILE [-f FILE...]")
register("delete", do_delete, "oc delete pod|svc|networkpolicy|egressnetworkpolicy|namespace NAME... [-n NS]")
register("label", do_label, "oc label pod|namespace NAME key=value... [key-] [--overwrite] [-n NS]")
register("adm", do_adm, "oc adm pod-network join-projects --to=NS NS... | make-projects-global NS... | "
                        "isolate-projects NS...")

from lab.planes.openshift.oc import edit as ocedit  # noqa: E402,F401  (registers patch and annotate)
