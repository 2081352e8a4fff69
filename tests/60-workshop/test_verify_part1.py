"""`lab workshop verify` over part 1 of the catalogue (every 4th exercise from the 1th, see
test_verify_catalogue.part): each exercise's start fails, each wrong fix is caught, its solution passes,
reset fails again. The parts are files of their own so that pytest-xdist (--dist loadfile) spreads them."""

import pytest
from test_verify_catalogue import part, verify_cli

pytestmark = pytest.mark.root


@pytest.mark.parametrize("ex_id", part(1))
def test_verify_proves_the_grader(ex_id):
    verify_cli(ex_id, "v1")
