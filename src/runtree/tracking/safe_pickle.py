"""Serializing captured values within a byte budget, without running code written in Python.

``pickle`` would call an object's ``__reduce_ex__``/``__reduce__``/``__getstate__``/
``__getnewargs__``, look attributes up through ``__getattribute__``/``__getattr__`` and
properties, iterate ``list``/``dict`` subclasses through their ``__iter__``/``items()``, and
call reducers registered with :mod:`copyreg`. Any of those written in Python -- in the user's
modules, their other modules or a third-party library -- can have effects the program sees.

:class:`SafePickler` is the C pickler with a ``reducer_override``, which the C pickler calls for
every object that is not an ``int``, ``float``, ``bool``, ``None``, ``str``, ``bytes``,
``bytearray`` or an exact ``list``, ``tuple``, ``dict``, ``set`` or ``frozenset`` (those it
writes itself, in C). For each type it decides once (:class:`TypeRules`):

* **trusted** -- every class of the type's MRO, and its metaclass's, comes from a module of the
  allow-list (:data:`DEFAULT_REDUCER_MODULES`: the standard library, numpy; see
  :class:`~runtree.tracking.capture.CapturePolicy`) and so does any copyreg reducer: the
  type's own reduction is used. Classes and functions are written by reference, after checking
  that the reference resolves through plain module and class dictionaries.
* **raw** -- anything else: the instance is written as its raw state, read without running any
  of its code: ``__dict__`` through the C ``__dict__`` descriptor, ``__slots__`` through their
  C member descriptors, the builtin part of a ``list``/``dict``/``set``/``tuple``/``str``/
  ``bytes``/``int``/``float``/exception subclass through the base type's C methods. It is
  rebuilt (:func:`rebuild`) the same way, without calling the class. Members of an enum written
  in Python are written as ``getattr(EnumClass, name)``.
* **opaque** -- what can be neither (an instance of a class defined in a function, a C object
  whose own reduction failed once, a lambda): an :class:`Opaque` stand-in that names the type
  (and keeps the raw ``__dict__``, if any). Instances of classes that define ``__hash__``,
  ``__eq__`` or ``__del__`` outside the allow-list are written the same way (with their raw
  state): a rebuilt copy would run that code when realize loads it.

Output goes to a :class:`BudgetSink` that stops the dump (:class:`OverBudget`) once it has
received more than its limit, so the work per value is bounded by the budget (protocol 5 hands
its output over in frames of about 64 KiB: the bound is ``max(budget, 64 KiB)``).
"""

from __future__ import annotations

import copyreg
import enum
import pickle
import sys
import threading
import types
from collections.abc import Iterable
from typing import Any

from .context import PAUSED_RECORD, get_holder
from .raw_state import (
    Opaque,
    OverBudget,
    builtin_content,
    generation,
    is_user_global,
    raw_dict,
    raw_slots,
    rebuild,
    reference_resolves,
    resolve,
    solid_base,
    type_dict,
    type_module,
    type_mro,
    type_name,
    type_qualname,
    user_global,
)

# The top-level packages whose own reducers may run: the standard library's (they reduce
# without side effects) and numpy's. Extended per recording by CapturePolicy.reducer_modules.
DEFAULT_REDUCER_MODULES: frozenset[str] = frozenset(sys.stdlib_module_names) | {"numpy"}

# Files compiled by runtree.instrument (kept for tracebacks and tools that ask).
user_files: set[str] = set()

PROTOCOL = 5  # the C hooks pickle small builtin values with it too (see _hooks.c)
_COPY_HOOKS = ("__hash__", "__eq__", "__del__")
# Allowed modules whose reducers have an effect the program can see: itertools objects warn
# (DeprecationWarning) when pickled on Python 3.12+. Their instances are described.
_DESCRIBED_MODULES = frozenset({"itertools"})
_CACHE_LIMIT = 20_000  # types remembered per rule set (dynamically made classes: bounded)

# Modules whose objects never serialize meaningfully (threads, files, sockets ...) are still
# tried once; a type that failed is remembered in TypeRules.failed.


class BudgetSink:
    """A file for the pickler that keeps what it receives and stops past ``limit`` bytes."""

    __slots__ = ("chunks", "limit", "written")

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.written = 0
        self.limit = 0

    def write(self, data: Any) -> int:
        size = len(data)
        self.written += size
        if self.written > self.limit:
            raise OverBudget(self.written)
        self.chunks.append(data)
        return size


# --- per-type rules ------------------------------------------------------------------------

TRUSTED: Any = NotImplemented  # reducer_override's "pickle it as usual"
_UNKNOWN: Any = object()


def _top(module: object) -> str:
    return module.partition(".")[0] if type(module) is str else ""


class TypeRules:
    """What to do with each type's instances, under one allow-list of reducer modules."""

    def __init__(self, modules: Iterable[str]) -> None:
        self.modules = frozenset(modules)
        self.rules: dict[type, Any] = {}
        self.failed: set[type] = set()  # types whose own reduction raised once
        self.trusted: dict[type, bool] = {}
        self.references: dict[Any, Any] = {}  # classes and functions -> how written
        self.generation = generation[0]

    def trusts_class(self, klass: type) -> bool:
        if klass is object:
            return True
        module = type_module(klass)
        if _top(module) not in self.modules:
            return False
        # A user module the worker registered under a name like "json" is not the library.
        return not is_user_global(module, type_qualname(klass), klass)

    def trusts_type(self, kind: type) -> bool:
        """Every class of ``kind``'s MRO and of its metaclass's comes from the allow-list."""
        self.check_generation()
        found = self.trusted.get(kind)
        if found is None:
            found = all(self.trusts_class(k) for k in type_mro(kind)) and all(
                self.trusts_class(k) for k in type_mro(type(kind))
            )
            if len(self.trusted) > _CACHE_LIMIT:
                self.trusted.clear()
            self.trusted[kind] = found
        return found

    def reference(self, obj: Any, module: Any, qualname: Any) -> Any:
        """How a class or function is written: ``TRUSTED`` (by the C pickler, by reference),
        a ``user_global`` reduction, or ``None`` when it cannot be referenced."""
        found = self.references.get(obj, _UNKNOWN)
        if found is _UNKNOWN:
            if resolve(module, qualname) is not obj:
                found = None
            elif is_user_global(module, qualname, obj) or (
                issubclass(type(obj), type) and not self.trusts_type(type(obj))
            ):
                # The C pickler would look a class up through its metaclass: plain dicts.
                found = (user_global, (module, qualname))
            else:
                found = TRUSTED
            if len(self.references) > _CACHE_LIMIT:
                self.references.clear()
            self.references[obj] = found
        return found

    def check_generation(self) -> None:
        if self.generation != generation[0]:  # user modules changed: decide again
            self.generation = generation[0]
            self.trusted.clear()
            self.references.clear()
            self.rules.clear()

    def rule(self, kind: type) -> Any:
        found = self.rules.get(kind)
        if found is None:
            if len(self.rules) > _CACHE_LIMIT:
                self.rules.clear()
            found = self.rules[kind] = self._decide(kind)
        return found

    def forget(self, kind: type) -> None:
        """``kind``'s own reduction failed: describe its instances from now on."""
        self.failed.add(kind)
        self.rules[kind] = _reduce_opaque

    def _decide(self, kind: type) -> Any:
        if kind is Opaque:
            return _reduce_stand_in
        if kind in self.failed or type_module(kind) in _DESCRIBED_MODULES:
            return _reduce_opaque
        if issubclass(kind, type):
            return _reduce_class
        if kind is types.FunctionType:
            return _reduce_function
        if kind is types.MethodType:
            return _reduce_method
        if issubclass(type(kind), enum.EnumMeta) and not self.trusts_type(kind):
            return _reduce_enum_member
        registered = copyreg.dispatch_table.get(kind)
        if self.trusts_type(kind):
            if registered is not None and not self._trusted_callable(registered):
                return _reduce_own  # a copyreg reducer from outside the allow-list: bypassed
            return TRUSTED
        base = solid_base(kind)
        if base is None or not reference_resolves(kind):
            return _reduce_opaque
        if self._defines(kind, _COPY_HOOKS):
            # A copy of such an instance would run its code when realize unpickles it (hash
            # and eq as a dict key or set member, __del__ when it is dropped): described.
            return _reduce_described
        return _reduce_raw

    def _defines(self, kind: type, names: tuple[str, ...]) -> bool:
        """Whether a class of ``kind``'s MRO outside the allow-list defines one of ``names``."""
        for klass in type_mro(kind):
            if not self.trusts_class(klass):
                namespace = type_dict(klass)
                if any(name in namespace for name in names):
                    return True
        return False

    def _trusted_callable(self, function: Any) -> bool:
        if type(function) is types.BuiltinFunctionType:
            return True
        if type(function) is types.FunctionType:
            module, qualname = function.__module__, function.__qualname__
            return _top(module) in self.modules and not is_user_global(module, qualname, function)
        return False


_rule_sets: dict[frozenset[str], TypeRules] = {}


def rules_for(modules: frozenset[str]) -> TypeRules:
    """The shared :class:`TypeRules` of one allow-list."""
    rules = _rule_sets.get(modules)
    if rules is None:
        rules = _rule_sets[modules] = TypeRules(modules)
    return rules


def _reduce_class(pickler: SafePickler, cls: type) -> Any:
    module, qualname = type_module(cls), type_qualname(cls)
    found = pickler.rules.reference(cls, module, qualname)
    return _unserializable(pickler, f"class {module}.{qualname}") if found is None else found


def _reduce_function(pickler: SafePickler, function: types.FunctionType) -> Any:
    module, qualname = function.__module__, function.__qualname__
    found = pickler.rules.reference(function, module, qualname)
    return _unserializable(pickler, f"function {module}.{qualname}") if found is None else found


def _reduce_method(pickler: SafePickler, method: types.MethodType) -> Any:
    owner = method.__self__
    if pickler.rules.trusts_type(type(owner)):
        return TRUSTED  # written as getattr(owner, name): no lookup runs Python code
    function = method.__func__
    name = function.__name__ if type(function) is types.FunctionType else "?"
    return _unserializable(pickler, f"method {type_name(type(owner))}.{name}")


def _reduce_enum_member(pickler: SafePickler, member: Any) -> Any:
    kind = type(member)
    state = raw_dict(member)
    name = state.get("_name_") if state is not None else None
    if type(name) is not str:
        return _reduce_opaque(pickler, member)
    if not reference_resolves(kind):
        return _unserializable(pickler, type_name(kind), {"member": name})
    module, path = type_module(kind), f"{type_qualname(kind)}.{name}"
    if resolve(module, path) is member:  # the member sits in its class's dict
        return (user_global, (module, path))  # loaded through plain dicts too
    if pickler.rules.trusts_type(type(kind)):
        return (getattr, (kind, name))  # looked up by the (allow-listed) enum metaclass
    return _unserializable(pickler, type_name(kind), {"member": name})


def _reduce_own(pickler: SafePickler, obj: Any) -> Any:
    """A trusted type whose copyreg entry is not: its own C/allow-listed reduction."""
    reduce_ex: Any = type(obj).__reduce_ex__
    return reduce_ex(obj, PROTOCOL)


def _unserializable(
    pickler: SafePickler, description: str, state: dict[str, Any] | None = None
) -> Any:
    pickler.opaque = True  # the capture gets a note saying what was only described
    return (Opaque, (description, state))


def _reduce_stand_in(pickler: SafePickler, stand_in: Opaque) -> Any:
    """An :class:`Opaque` of an earlier capture, written again (a copy being re-dumped)."""
    if stand_in.failed:
        pickler.opaque = True
    return stand_in.__reduce__()


def _reduce_opaque(pickler: SafePickler, obj: Any) -> Any:
    if type(obj) is types.ModuleType:  # its __dict__ is its globals: named, not copied
        name = (raw_dict(obj) or {}).get("__name__")
        return _unserializable(pickler, "module", {"name": name if type(name) is str else "?"})
    return _unserializable(pickler, type_name(type(obj)), raw_dict(obj))


def _reduce_described(pickler: SafePickler, obj: Any) -> Any:
    """Written as an :class:`Opaque` with the raw ``__dict__`` and slots (not a failure)."""
    state = dict(raw_dict(obj) or {})
    state.update(raw_slots(obj))
    return (Opaque, (type_name(type(obj)), state or None, False))


def _reduce_raw(pickler: SafePickler, obj: Any) -> Any:
    kind = type(obj)
    base = solid_base(kind) or object
    content = builtin_content(obj, base, pickler.sink.limit)
    slots = raw_slots(obj)
    return (rebuild, (kind, raw_dict(obj), slots or None, content))


class SafePickler(pickle.Pickler):
    """The C pickler with the per-type rules above (see the module docstring).

    The first object it hands to ``reducer_override`` pauses the recording of this context
    until the dump ends, so nothing an allowed reducer runs is ever recorded (and capture can
    never re-enter itself). ``last`` is the last object handed over: when a trusted reduction
    raises, its type is the one that failed.
    """

    def __init__(self, sink: BudgetSink, rules: TypeRules) -> None:
        super().__init__(sink, PROTOCOL)
        self.sink = sink
        self.rules = rules
        self.paused: tuple[list[Any], Any] | None = None
        self.last: Any = None
        self.opaque = False

    def reducer_override(self, obj: Any) -> Any:
        if self.paused is None:
            holder = get_holder()
            if holder is not None:
                self.paused = (holder, holder[0])
                holder[0] = PAUSED_RECORD
        kind = type(obj)
        rule = self.rules.rules.get(kind)
        if rule is None:
            rule = self.rules.rule(kind)
        if rule is TRUSTED:
            self.last = obj
            return TRUSTED
        self.last = None
        return rule(self, obj)

    def resume(self) -> None:
        if self.paused is not None:
            holder, record = self.paused
            holder[0] = record
            self.paused = None


class Dumped:
    """The result of :func:`dumps`: the bytes, and whether a part was only described."""

    __slots__ = ("blob", "opaque")

    def __init__(self, blob: bytes, opaque: bool) -> None:
        self.blob = blob
        self.opaque = opaque


_per_thread = threading.local()
_RETRIES = 8  # distinct failing types learnt per dump before giving up
_SMALL_OUTPUT = 8 * 1024  # past this, the memo may be large: the pickler is replaced


def dumps(value: Any, limit: int, rules: TypeRules) -> Dumped:
    """Pickle ``value`` (protocol 5) without running code written in Python.

    Raises :class:`OverBudget` once the output passes ``limit`` bytes, ``RecursionError`` for
    values nested deeper than the interpreter's recursion limit allows, and whatever a trusted
    reduction raises when no type can be blamed for it. A type whose own reduction raised is
    remembered (and described from then on) and the dump retried, a few times at most.

    Each thread reuses one pickler (making one costs more than a small dump): this function
    is on the recording's hot path and keeps the common case to one call into C.
    """
    state = _per_thread.__dict__.get("state")
    if (
        state is None
        or state[2]
        or state[1].rules is not rules
        or (rules.generation != generation[0])
    ):
        return _dumps_slow(value, limit, rules)
    sink, pickler = state[0], state[1]
    sink.limit = limit
    sink.written = 0
    pickler.opaque = False
    state[2] = True
    try:
        pickler.dump(value)
    except BaseException:
        state[1] = SafePickler(sink, rules)  # a broken dump leaves the old one dirty
        sink.chunks.clear()
        state[2] = False
        if pickler.paused is not None:
            pickler.resume()
        return _dumps_slow(value, limit, rules)  # again, learning what failed
    if pickler.paused is not None:
        pickler.resume()
    blob = b"".join(sink.chunks)
    sink.chunks.clear()
    if sink.written <= _SMALL_OUTPUT:
        pickler.clear_memo()
    else:
        # A fresh pickler: clearing a memo costs as much as the largest table it ever grew
        # to, on every later dump.
        state[1] = SafePickler(sink, rules)
    state[2] = False
    return Dumped(blob, pickler.opaque)


def _dumps_slow(value: Any, limit: int, rules: TypeRules) -> Dumped:
    """A pickler of its own (first use, re-entered from an allowed reducer, other rules),
    learning failing types and retrying."""
    rules.check_generation()
    state = _per_thread.__dict__.get("state")
    if state is None or (not state[2] and state[1].rules is not rules):
        sink = BudgetSink()
        _per_thread.state = [sink, SafePickler(sink, rules), False]
    for _ in range(_RETRIES):
        pickler = SafePickler(BudgetSink(), rules)
        pickler.sink.limit = limit
        try:
            pickler.dump(value)
        except (OverBudget, RecursionError, MemoryError):
            raise
        except Exception as error:
            last = pickler.last
            if last is None:
                raise
            rules.forget(type(last))
            del error
            continue
        finally:
            pickler.resume()
        return Dumped(b"".join(pickler.sink.chunks), pickler.opaque)
    raise pickle.PicklingError("too many types failed to pickle in one value")
