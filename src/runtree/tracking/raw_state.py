"""Reading and rebuilding an object's raw state without running any of its code.

Everything here goes through C descriptors fetched from ``type`` itself, never through the
object's or its metaclass's attribute lookup: a type's ``__dict__``, ``__module__``,
``__qualname__`` and ``__mro__`` via ``type``'s own getters, an instance's ``__dict__`` via the
C ``__dict__`` descriptor its class got from ``type``, its ``__slots__`` via their C member
descriptors, the builtin part of a container or number subclass via the base type's C methods.
:func:`rebuild` makes an instance from such state with the base type's C ``__new__``: no
``__new__``, ``__init__`` or ``__setstate__`` of the class runs.

Names are resolved the same way (:func:`resolve`): through module and class dictionaries,
never a module ``__getattr__``. User modules the worker runs in a plain dict are registered
here (:func:`register_module`) so their classes and functions resolve by reference.
"""

from __future__ import annotations

import sys
import types
from typing import Any

type_dict = type.__dict__["__dict__"].__get__  # the mappingproxy, without the metaclass
type_module = type.__dict__["__module__"].__get__
type_qualname = type.__dict__["__qualname__"].__get__
type_mro = type.__dict__["__mro__"].__get__
_exception_args = BaseException.__dict__["args"].__get__
_GetSet = types.GetSetDescriptorType
_Member = types.MemberDescriptorType
_CACHE_LIMIT = 20_000  # types remembered (dynamically made classes: bounded)


class OverBudget(Exception):
    """The serialized output passed its limit after ``written`` bytes."""

    def __init__(self, written: int) -> None:
        super().__init__(written)
        self.written = written


class Opaque:
    """Stands in for a value that capture describes instead of serializing it.

    ``type_name`` names the original's type; ``state`` is its raw ``__dict__`` (or ``None``);
    ``failed``: the original could not be serialized at all (the capture gets a note), as
    opposed to an instance written this way on purpose (see :func:`_reduce_described`).
    Calling it raises, so a ``functools.partial`` around one still unpickles."""

    __slots__ = ("failed", "state", "type_name")

    def __init__(
        self, type_name: str, state: dict[str, Any] | None = None, failed: bool = True
    ) -> None:
        self.type_name = type_name
        self.state = state
        self.failed = failed

    def __reduce__(self) -> tuple[Any, ...]:
        return (Opaque, (self.type_name, self.state, self.failed))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        raise TypeError(f"{self.type_name} was not captured (only described)")

    def __repr__(self) -> str:
        return f"<{self.type_name} (not serializable)>"


def type_name(kind: type) -> str:
    """``module.Qualname`` of a type (just ``Qualname`` for builtins), running no code."""
    try:
        module = type_module(kind)
        qualname = type_qualname(kind)
    except Exception:
        return "?"
    if module == "builtins" or type(module) is not str:
        return str(qualname)
    return f"{module}.{qualname}"


def raw_dict(obj: Any) -> dict[str, Any] | None:
    """The instance ``__dict__`` of ``obj`` read through the C descriptor (no Python code)."""
    descriptor = _layout(type(obj))[0]
    if descriptor is None:
        return None
    try:
        state = descriptor.__get__(obj)
    except Exception:
        return None
    return state if type(state) is dict else None


def raw_slots(obj: Any) -> dict[str, Any]:
    """The set ``__slots__`` of ``obj``, read through their C member descriptors."""
    values: dict[str, Any] = {}
    for name, descriptor in _layout(type(obj))[1]:
        try:
            values[name] = descriptor.__get__(obj)
        except AttributeError:
            pass  # an unset slot
    return values


_layouts: dict[type, tuple[Any, tuple[tuple[str, Any], ...]]] = {}


def _layout(kind: type) -> tuple[Any, tuple[tuple[str, Any], ...]]:
    """(the C ``__dict__`` descriptor or ``None``, the C slot descriptors) of ``kind``."""
    found = _layouts.get(kind)
    if found is not None:
        return found
    dict_descriptor = None
    slots: list[tuple[str, Any]] = []
    for klass in type_mro(kind):
        namespace = type_dict(klass)
        candidate = namespace.get("__dict__")
        if dict_descriptor is None and type(candidate) in (_GetSet, _Member):  # both C
            dict_descriptor = candidate
        declared = namespace.get("__slots__", ())
        names = (declared,) if type(declared) is str else declared
        if type(names) not in (tuple, list):
            continue
        for name in names:
            descriptor = namespace.get(name) if type(name) is str else None
            if type(descriptor) is _Member:
                slots.append((name, descriptor))
    if len(_layouts) > _CACHE_LIMIT:
        _layouts.clear()
    found = _layouts[kind] = (dict_descriptor, tuple(slots))
    return found


# --- rebuilding (runs when our own pickle is loaded: never calls the class) -----------------

# The C base types an instance can be rebuilt on, and how their builtin part is read.
_SOLID_BASES: tuple[type, ...] = (
    list,
    dict,
    set,
    frozenset,
    tuple,
    str,
    bytes,
    int,
    float,
    BaseException,
)


_solid_bases: dict[type, type | None] = {}


def solid_base(kind: type) -> type | None:
    """The builtin base whose C ``__new__`` allocates ``kind``'s instances, if :func:`rebuild`
    can call it: ``object``, a builtin container, string or number, or an exception."""
    found = _solid_bases.get(kind, _solid_bases)
    if found is not _solid_bases:
        return found  # type: ignore[return-value]
    found = object
    for klass in type_mro(kind):
        if type(type_dict(klass).get("__new__")) is types.BuiltinFunctionType:  # a C tp_new
            ok = klass is object or klass in _SOLID_BASES or issubclass(klass, BaseException)
            found = klass if ok else None  # else a C type that cannot be made without its code
            break
    if len(_solid_bases) > _CACHE_LIMIT:
        _solid_bases.clear()
    _solid_bases[kind] = found
    return found


def rebuild(
    kind: type,
    state: dict[str, Any] | None,
    slots: dict[str, Any] | None,
    content: Any = None,
) -> Any:
    """Recreate an instance of ``kind`` from its raw state without calling any of its code.
    ``content`` is the builtin part of a container, string, number or exception subclass."""
    base: Any = solid_base(kind) or object
    if base in (tuple, frozenset, str, bytes, int, float):
        obj: Any = base.__new__(kind, content)
    else:
        obj = base.__new__(kind)
        if content is not None:
            if base is list:
                list.extend(obj, content)
            elif base is dict:
                dict.update(obj, content)
            elif base is set:
                set.update(obj, content)
            elif issubclass(base, BaseException):
                BaseException.__dict__["args"].__set__(obj, content)
    if state:
        target = raw_dict(obj)
        if target is not None:
            target.update(state)
    for name, value in (slots or {}).items():
        for slot_name, descriptor in _layout(kind)[1]:
            if slot_name == name:
                descriptor.__set__(obj, value)
                break
    return obj


def builtin_content(obj: Any, base: type, limit: int) -> Any:
    """The builtin part of ``obj`` (an instance of a subclass of ``base``), read in C.
    Containers with more items than ``limit`` bytes could hold stop the dump at once."""
    if base in (list, dict, set, frozenset, tuple):
        if base.__len__(obj) > limit:
            raise OverBudget(limit + 1)
        if base is list:
            return list.copy(obj)
        if base is dict:
            return dict(dict.items(obj))  # dict.copy would call an overridden keys()
        if base is set:
            return set.copy(obj)
        if base is frozenset:
            return frozenset(frozenset.__iter__(obj))
        return tuple.__getitem__(obj, slice(None))
    if base is str:
        return str.__str__(obj)
    if base is bytes:
        return bytes.__getitem__(obj, slice(None))
    if base is int:
        return int.__int__(obj)
    if base is float:
        return float.__float__(obj)
    if issubclass(base, BaseException):
        return _exception_args(obj)
    return None


# --- names ------------------------------------------------------------------------------


def resolve(module_name: object, qualname: object) -> Any:
    """The object ``module_name.qualname`` names, found through plain dictionaries only
    (never a module ``__getattr__``, a metaclass or a descriptor); ``None`` when not found.
    User modules the worker registered (:func:`register_module`) are looked at first."""
    if type(module_name) is not str or type(qualname) is not str or "<locals>" in qualname:
        return None
    found = _resolve_in(user_modules.get(module_name), qualname)
    if found is not None:
        return found
    module = sys.modules.get(module_name)
    if type(module) is not types.ModuleType:
        return None
    return _resolve_in(module.__dict__, qualname)


def _resolve_in(namespace: dict[str, Any] | None, qualname: str) -> Any:
    if namespace is None:
        return None
    obj: Any = None
    for index, part in enumerate(qualname.split(".")):
        if index == 0:
            obj = namespace.get(part)
        elif issubclass(type(obj), type):
            obj = type_dict(obj).get(part)
        else:
            return None
    return obj


def is_user_global(module_name: object, qualname: object, obj: Any) -> bool:
    """Whether ``obj`` is defined in a module the worker registered."""
    return (
        type(module_name) is str
        and type(qualname) is str
        and _resolve_in(user_modules.get(module_name), qualname) is obj
    )


def reference_resolves(kind: type) -> bool:
    try:
        return resolve(type_module(kind), type_qualname(kind)) is kind
    except Exception:
        return False


# User modules run by the worker (module name -> namespace): their classes and functions are
# written by reference to them (see runtree.execution.worker.load_functions).
user_modules: dict[str, dict[str, Any]] = {}


# Bumped whenever user_modules changes: what was resolved before may resolve differently.
generation = [0]


def register_module(name: str, namespace: dict[str, Any]) -> None:
    """Let classes and functions of a module executed in ``namespace`` be captured by
    reference (``name`` is its ``__name__``), without putting it in ``sys.modules``."""
    user_modules[name] = namespace
    generation[0] += 1


def user_global(module_name: str, qualname: str) -> Any:
    """Load what a by-reference capture names (an object of a registered user module, or a
    class whose metaclass is not trusted), through plain dictionaries only."""
    found = resolve(module_name, qualname)
    if found is None:
        raise LookupError(f"{module_name}.{qualname} is not loaded in this process")
    return found
