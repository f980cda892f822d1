"""Tests of cpts_diag.outputs.maps.classes: classes and French legend labels."""

from __future__ import annotations

from cpts_diag.outputs.maps.classes import (
    PALETTES,
    classify,
)


def test_classify_quantiles_and_breaks():
    c = classify(list(range(1, 11)) + [None, "secret"])
    assert len(c.labels) == 5 and len(c.colors) == 5
    assert c.colors == PALETTES["YlGnBu"]
    assert c.labels[0].startswith("moins de ") and c.labels[-1].endswith(" et plus")
    idx = c.assign([1, 10, None, "secret"])
    assert idx.tolist() == [0, 4, -1, -1]
    g = classify([1.0, 2.6, 3.1, 4.2], classes=[2.5, 3, 4], decimals=1)
    assert g.labels == ["moins de 2,5", "de 2,5 à moins de 3,0", "de 3,0 à moins de 4,0", "4,0 et plus"]
    # a value is classed as it is shown: 2,49 is shown « 2,5 » with one decimal, 2,449 « 2,4 »
    assert g.assign([2.5, 2.49, 2.449, 4.0]).tolist() == [1, 1, 0, 3]
    assert classify([1], classes=[2.25], decimals=1).labels == ["moins de 2,25", "2,25 et plus"]
    assert classify([2, 2, 2]).labels == ["2,0"]
    assert classify([None, None]).labels == []
    assert (
        classify([1, 2, 3], palette="Blues_r", classes=[2]).colors[0]
        != classify([1, 2, 3], palette="Blues", classes=[2]).colors[0]
    )
