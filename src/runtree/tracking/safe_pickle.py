"""Serializing user values without running user code.

``pickle`` calls an object's ``__reduce_ex__``/``__reduce__``/``__getstate__`` (and
``__getattr__`` while looking for ``__getnewargs_ex__``); a preview calls ``__repr__``. When
the user's own code defines those methods, capturing an argument would run user code the
program can observe -- instrumented code would no longer behave exactly like the original.

So classes whose pickling or repr hooks come from instrumented code (source registered by
:func:`runtree.instrument`) are handled here without calling any of their methods: instances
are reduced to their raw ``__dict__`` and slot values (read through ``object``'s own
descriptors), and shown as ``<module.Class object>``. Everything else pickles as usual.
"""

from __future__ import annotations

import copyreg
import io
import pickle
import threading
from typing import Any

from .context import PAUSED_RECORD, get_holder

_pickle_hooks = (
    "__reduce_ex__",
    "__reduce__",
    "__getstate__",
    "__getnewargs_ex__",
    "__getnewargs__",
    "__getattr__",
    "__getattribute__",
    "__setstate__",
    # What pickle calls on subclasses of list, dict and set to read their items.
    "__iter__",
    "items",
    "keys",
    "values",
    "__len__",
    "__getitem__",
)
_repr_hooks = ("__repr__", "__str__", "__getattr__", "__getattribute__")

# Files compiled by runtree.instrument: functions from these are "user code".
user_files: set[str] = set()

_BUILTIN = frozenset(
    {int, float, str, bytes, bool, type(None), complex, list, dict, tuple, set, frozenset,
     bytearray, range, slice, type}
)
_CONTAINERS = (list, dict, set, frozenset, tuple)
_user_pickling: dict[type, bool] = {}
_user_repr: dict[type, bool] = {}


def _is_user_code(member: Any) -> bool:
    function = getattr(member, "__func__", member)  # classmethod/staticmethod
    code = getattr(function, "__code__", None)
    return code is not None and code.co_filename in user_files


def _defined_by_user(kind: type, hooks: tuple[str, ...]) -> bool:
    registered = copyreg.dispatch_table.get(kind)
    if registered is not None and _is_user_code(registered):
        return True  # a copyreg.pickle() reducer written in user code
    for klass in kind.__mro__:
        if klass is object:
            continue
        namespace = vars(klass)
        for hook in hooks:
            member = namespace.get(hook)
            if member is not None and _is_user_code(member):
                return True
    return False


def has_user_pickling(kind: type) -> bool:
    """Whether pickling an instance of ``kind`` would call a method defined in user code."""
    if kind in _BUILTIN:
        return False
    found = _user_pickling.get(kind)
    if found is None:
        found = _user_pickling[kind] = _defined_by_user(kind, _pickle_hooks)
    return found


def has_user_repr(kind: type) -> bool:
    """Whether ``repr()`` of an instance of ``kind`` would call a method defined in user code."""
    if kind in _BUILTIN:
        return False
    found = _user_repr.get(kind)
    if found is None:
        found = _user_repr[kind] = _defined_by_user(kind, _repr_hooks)
    return found


def safe_repr(obj: Any) -> str:
    """``repr(obj)``, or ``<module.Class object>`` when that would run user code."""
    kind = type(obj)
    if has_user_repr(kind):
        return f"<{kind.__module__}.{kind.__qualname__} object>"
    return repr(obj)


def rebuild(
    kind: type,
    state: dict[str, Any] | None,
    slots: dict[str, Any] | None,
    content: Any = None,
) -> Any:
    """Recreate an instance from its raw state without calling any of its methods.
    ``content`` is the builtin part of a list, dict, set or tuple subclass."""
    base: Any = next((b for b in _CONTAINERS if issubclass(kind, b)), object)
    if base is tuple or base is frozenset:
        obj: Any = base.__new__(kind, content or ())
    else:
        obj = base.__new__(kind)
    if content is not None and base is list:
        list.extend(obj, content)
    elif content is not None and base is dict:
        dict.update(obj, content)
    elif content is not None and base is set:
        set.update(obj, content)
    if state:
        object.__getattribute__(obj, "__dict__").update(state)
    for name, value in (slots or {}).items():
        object.__setattr__(obj, name, value)
    return obj


def _raw_reduce(obj: Any) -> tuple[Any, ...]:
    kind = type(obj)
    try:
        state = dict(object.__getattribute__(obj, "__dict__"))
    except AttributeError:
        state = None
    slots: dict[str, Any] = {}
    for klass in kind.__mro__:
        declared = vars(klass).get("__slots__", ())
        names = (declared,) if isinstance(declared, str) else tuple(declared)
        for name in names:
            descriptor = vars(klass).get(name)
            if name in ("__dict__", "__weakref__") or descriptor is None:
                continue
            try:
                slots[name] = descriptor.__get__(obj, kind)  # a C member descriptor
            except AttributeError:
                pass  # an unset slot
    # The builtin part of a container subclass, read by the base type's own C methods: no
    # overridden __iter__ or items() is called.
    content: Any = None
    if issubclass(kind, list):
        content = list.copy(obj)
    elif issubclass(kind, dict):
        content = dict.copy(obj)
    elif issubclass(kind, set):
        content = set.copy(obj)
    elif issubclass(kind, frozenset):
        content = frozenset.copy(obj)
    elif issubclass(kind, tuple):
        content = tuple.__getitem__(obj, slice(None))
    return (rebuild, (kind, state, slots or None, content))


class SafePickler(pickle.Pickler):
    """A C pickler that reduces user-hooked instances itself (see the module docstring).

    ``reducer_override`` is called only for objects that are not builtin scalars or builtin
    containers, i.e. exactly when Python code (a library reducer, say) might run: the first
    such object pauses the recording of this context until the dump ends, so nothing pickling
    runs is ever recorded (and capture can never re-enter itself).
    """

    paused: tuple[list[Any], Any] | None = None

    def reducer_override(self, obj: Any) -> Any:
        if self.paused is None:
            holder = get_holder()
            if holder is not None:
                self.paused = (holder, holder[0])
                holder[0] = PAUSED_RECORD
        kind = type(obj)
        if kind.__module__ == "itertools":
            # Python 3.12+ warns when itertools objects are pickled; the program would see
            # the warning. They are captured by repr instead.
            raise pickle.PicklingError("itertools objects are not captured by pickle")
        if not has_user_pickling(kind) or isinstance(obj, type):
            return NotImplemented  # pickled as usual (classes by reference)
        return _raw_reduce(obj)

    def resume(self) -> None:
        if self.paused is not None:
            holder, record = self.paused
            holder[0] = record
            self.paused = None


_per_thread = threading.local()


def _thread_pickler() -> list[Any]:
    """[buffer, pickler, busy] of this thread (made on first use)."""
    buffer = io.BytesIO()
    state: list[Any] = [buffer, SafePickler(buffer, 5), False]
    _per_thread.state = state
    return state


def dumps(value: Any) -> bytes:
    """Pickle ``value`` (protocol 5) without running user code.

    Each thread reuses one pickler: building a pickler per call costs more than dumping.
    """
    try:
        state = _per_thread.state
    except AttributeError:
        state = _thread_pickler()
    buffer, pickler, busy = state
    if busy:  # re-entered (a library reducer pickling): a pickler of its own
        buffer = io.BytesIO()
        pickler = SafePickler(buffer, 5)
        try:
            pickler.dump(value)
        finally:
            pickler.resume()
        return buffer.getvalue()
    state[2] = True
    try:
        pickler.dump(value)
        return buffer.getvalue()  # type: ignore[no-any-return]
    finally:
        if pickler.paused is not None:
            pickler.resume()
        buffer.seek(0)
        buffer.truncate()
        pickler.clear_memo()
        state[2] = False


def dill_dumps(value: Any) -> bytes:
    """``dill`` for what pickle cannot do (lambdas, closures ...), with the same rule."""
    import dill  # imported lazily: most values never need it

    class _SafeDill(dill.Pickler):  # type: ignore[misc]
        paused = None
        reducer_override = SafePickler.reducer_override
        resume = SafePickler.resume

    buffer = io.BytesIO()
    pickler = _SafeDill(buffer, protocol=5)
    try:
        pickler.dump(value)
    finally:
        pickler.resume()
    return buffer.getvalue()
