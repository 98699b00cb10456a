"""The one eIDAS order, read by the authorize endpoint and the FranceConnect upstream."""

from idp.domain import eidas


def test_the_levels_rank_low_to_high_and_anything_else_ranks_as_told():
    assert [eidas.rank(a) for a in ("eidas1", "eidas2", "eidas3")] == [1, 2, 3]
    assert eidas.rank("urn:other") == 0 and eidas.rank(None) == 0
    assert eidas.rank("urn:other", unknown=1) == 1
