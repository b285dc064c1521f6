"""`NamedTuple` for the query's start-up: the same class syntax as `typing.NamedTuple`, building
the same `collections.namedtuple`, without importing `typing` (a query would spend about 2.5 ms,
a twentieth of its time, importing it for the class statement alone).

Modules write::

    TYPE_CHECKING = False
    if TYPE_CHECKING:
        from typing import NamedTuple
    else:
        from lazarus.tuples import NamedTuple

so that type checkers see `typing.NamedTuple` and Python runs this. What the class body holds
besides its annotated fields (a docstring, methods, properties, constants) is kept on the class.
"""

from __future__ import annotations

import collections

_NAMESPACE_ONLY = frozenset(
    {"__annotations__", "__module__", "__qualname__", "__orig_bases__", "__static_attributes__", "__firstlineno__"}
)


class _NamedTupleMeta(type):
    def __new__(mcls, name: str, bases: tuple[type, ...], namespace: dict[str, object]) -> type:  # noqa: N804
        if not namespace.get("__annotations__") and bases == ():
            return super().__new__(mcls, name, bases, namespace)  # NamedTuple itself
        annotations = namespace.get("__annotations__", {})
        assert isinstance(annotations, dict)
        fields = list(annotations)
        defaults = [namespace[field] for field in fields if field in namespace]
        made = collections.namedtuple(name, fields, defaults=defaults, module=str(namespace["__module__"]))  # type: ignore[misc]
        made.__qualname__ = str(namespace.get("__qualname__", name))
        for key, value in namespace.items():
            if key not in _NAMESPACE_ONLY and key not in fields:
                setattr(made, key, value)
        made.__annotations__ = annotations
        return made


class NamedTuple(metaclass=_NamedTupleMeta):
    """Base of a named tuple written as a class (see the module's docstring)."""
