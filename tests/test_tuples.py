"""lazarus.tuples.NamedTuple builds what typing.NamedTuple builds, for the classes lazarus writes."""

from __future__ import annotations

import pickle
import typing

from lazarus.model import Entry, Match
from lazarus.query.index import Piece
from lazarus.tuples import NamedTuple


class Point(NamedTuple):
    """A point."""

    x: int
    y: int = 0
    LIMIT = 10

    def moved(self, by: int) -> Point:
        return self._replace(x=self.x + by)

    @property
    def far(self) -> bool:
        return self.x > self.LIMIT


class TypingPoint(typing.NamedTuple):
    x: int
    y: int = 0


def test_fields_defaults_methods_and_docstring_are_kept():
    point = Point(3)
    assert point == (3, 0) and point.y == 0 and Point._fields == TypingPoint._fields == ("x", "y")
    assert Point._field_defaults == TypingPoint._field_defaults == {"y": 0}
    assert point.moved(20).far and not point.far and Point.LIMIT == 10
    assert Point.__doc__ == "A point." and Point.__qualname__ == "Point" and Point.__module__ == __name__
    assert point._asdict() == {"x": 3, "y": 0} and isinstance(point, tuple)


def test_lazarus_records_survive_pickling_as_the_index_cache_stores_them():
    # the module's own classes, as the query path builds them (no typing imported)
    assert Entry.__module__ == "lazarus.model" and Piece.__module__ == "lazarus.query.index"
    point = Point(1, 2)
    assert pickle.loads(pickle.dumps(point)) == point
    assert Match._fields[:3] == ("entry", "score", "via") and Match._field_defaults["field_match"] == 0.0
