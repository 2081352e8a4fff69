"""Link impairments as data (lab.impair): parsed on top of what an interface has, refused whole, rendered
for what the kernel has; the `lab link` parser documents every option."""

import pytest

from lab import impair
from lab.errors import BadInput
from lab.front import link
from lab.impair import Impairment, Kernel

NO_NETEM, NETEM = Kernel(netem=False, tbf=True), Kernel(netem=True, tbf=True)


def test_settings_apply_on_top_and_zero_removes_one():
    imp = impair.parse(["loss", "10", "rate", "1mbit"])
    assert imp == Impairment(loss=10, rate=10 ** 6)
    assert impair.parse(["loss", "0", "delay", "20"], imp) == Impairment(rate=10 ** 6, delay=20)
    assert Impairment.from_dict(imp.to_dict()) == imp and imp.describe() == "loss 10% rate 1mbit"


@pytest.mark.parametrize("words, says", [
    (["loss", "150"], "0 to 100"), (["loss", "x"], "0 to 100"), (["rate", "fast"], "with a unit"),
    (["rate", "10"], "with a unit"), (["rate", "1kbit"], "below 8kbit"), (["delay", "-5"], "from 0"),
    (["jitter", "5"], "needs a delay"), (["delay", "5", "jitter", "9"], "larger than the delay"),
    (["loss"], "needs a value"), (["speed", "1"], "unknown setting"), (["loss", "1", "loss", "2"], "twice"),
    ([], "give settings"),
])
def test_bad_settings_are_refused_whole(words, says):
    with pytest.raises(BadInput, match=says):
        impair.parse(words)


def test_what_needs_netem_is_refused_without_it_and_loss_on_a_switch_port():
    assert "delay and corrupt need the kernel's netem qdisc (sch_netem)" in impair.refusal(
        Impairment(delay=5, corrupt=1), NO_NETEM, True, "pod1:eth0")
    assert impair.refusal(Impairment(loss=5, rate=1e6), NO_NETEM, True, "pod1:eth0") is None
    said = impair.refusal(Impairment(loss=5), NO_NETEM, False, "node1:veth1", "pod1:eth0")
    assert "iptables never sees" in said and "(pod1:eth0)" in said
    assert impair.refusal(Impairment(loss=5, delay=5), NETEM, False, "node1:veth1") is None


def test_render_uses_what_the_kernel_has():
    imp = Impairment(loss=50, rate=10 ** 7)
    cmds = impair.render("eth0", imp, NO_NETEM)
    assert cmds[:len(impair.clear_commands("eth0"))] == impair.clear_commands("eth0")  # from any previous state
    assert "tc qdisc add dev eth0 root handle 1: tbf rate 10000000bit burst 12500 latency 50ms" in cmds
    assert any("--probability 0.500000 -j DROP" in c for c in cmds) and not any("netem" in c for c in cmds)
    cmds = impair.render("eth0", Impairment(loss=50, rate=10 ** 7, delay=20, jitter=5), NETEM)
    assert cmds[-1] == "tc qdisc add dev eth0 parent 1:1 handle 10: netem delay 20ms 5ms loss random 50%"
    assert not any("iptables -w -N" in c for c in cmds)


def test_every_option_of_lab_link_has_help():
    p = link.parser()
    assert all(a.help for a in p._actions), [a.dest for a in p._actions if not a.help]
