"""An example cluster module: `sudo lab run examples/shop_cluster.py --pods-per-node 0`.

Three nodes; project `shop` with a 3-replica web Deployment behind a ClusterIP service (HTTP on 80 ->
8080, DNS-like UDP on 53 -> 5353) and a NodePort service; a lone client pod in `default`.
"""


def build(c):
    c.nodes(3)
    c.namespace("shop", labels={"team": "shop"})
    c.deployment("web", namespace="shop", replicas=3, labels={"app": "web"}, ports=["http=8080", "5353/udp"])
    c.service("web", namespace="shop", selector={"app": "web"}, ports=[(80, 8080), (53, 5353, "UDP")])
    c.service("web-public", namespace="shop", selector={"app": "web"}, ports=[(80, 8080, "TCP", 30080)],
              type="NodePort")
    c.pod("client", node="node1")
