"""The helper code every generated test file carries, as Python source: ``load`` (the
modules under test, from their recorded sources or SOURCE_DIR), ``imported`` (a class by
dotted name), ``decode`` (an embedded pickle, unpickled in the user's process) and the
recorded calls the stubs answer. :func:`.testgen_render.render` puts ``load`` in every
file and the others only in a file that uses them. The code imports only the standard
library (``decode`` may need runtree to rebuild instances it recorded by their raw state)."""

LOAD_CODE = '''
def load(sources, links):
    """Each deployed function's module by name, run as plain Python from SOURCE_DIR/NAME.py
    when SOURCE_DIR is set, else from its recorded source; then, as on the platform, each
    module gets the other functions (or ``links``: stubs) by bare name."""
    modules = {}
    for name, recorded in sources.items():
        source, filename = recorded, f"{NAMESPACE}/{name}.py"
        if SOURCE_DIR is not None:
            path = pathlib.Path(SOURCE_DIR) / f"{name}.py"
            source, filename = path.read_text(encoding="utf-8"), str(path)
        # tracebacks and pytest show the lines of the code under test
        linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
        module = types.ModuleType(name)
        module.__file__ = filename
        exec(compile(source, filename, "exec"), module.__dict__)
        modules[name] = module
    entry_points = {name: getattr(module, name, None) for name, module in modules.items()}
    for name, module in modules.items():
        for other, function in {**links, **entry_points}.items():
            if other != name and other not in module.__dict__:
                setattr(module, other, function)
    LOADED.clear()
    LOADED.update(modules)
    return modules


LOADED = {}
'''

IMPORTED_CODE = '''
def imported(dotted):
    """The class named ``module.Qualname``, imported."""
    import importlib

    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        try:
            found = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for part in parts[cut:]:
            found = getattr(found, part)
        return found
    raise ImportError(f"cannot import {dotted}")
'''

DECODE_CODE = '''
def decode(data):
    """A value recorded as a pickle (base64), decoded here, in your own process: the
    runtree server never unpickles what a function sent. Unpickling can run code: run this
    test only on recordings you trust. Classes of your functions resolve to the modules
    loaded above."""
    saved = {name: sys.modules.get(name) for name in LOADED}
    sys.modules.update(LOADED)
    try:
        return pickle.loads(base64.b64decode(data))
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
'''

CALLS_CODE = '''
class Call:
    """One recorded call into another deployed function: its checked arguments and what it
    returned or raised."""

    def __init__(self, name, step, inputs, returns=None, raises=None):
        self.name, self.step, self.inputs = name, step, inputs
        self.returns, self.raises = returns, raises


class RecordedCalls:
    """The calls the step made into other deployed functions, answered in recorded order."""

    def __init__(self):
        self.calls, self.made = [], 0

    def expect(self, *calls):
        self.calls, self.made = list(calls), 0

    def answer(self, name, arguments):
        number = self.made + 1
        assert self.made < len(self.calls), (
            f"call {number} into another function, {name}(), is not in the recording "
            f"({len(self.calls)} calls)"
        )
        call = self.calls[self.made]
        self.made += 1
        assert name == call.name, (
            f"call {number}: the recording called {call.name} (step {call.step}), not {name}"
        )
        for param, expected in call.inputs.items():
            actual = arguments.get(param, NOT_RECORDED)
            if actual is not NOT_RECORDED:  # a default the recording cannot know
                assert actual == expected, (
                    f"call {number}, {name}(): argument {param!r} differs from step {call.step}"
                )
        if call.raises is not None:
            raise call.raises
        return call.returns

    def assert_all_made(self):
        left = [f"{call.name} (step {call.step})" for call in self.calls[self.made :]]
        assert not left, f"recorded calls not made: {', '.join(left)}"


CALLS = RecordedCalls()
NOT_RECORDED = object()


def recorded_error(kind, *args):
    """An exception of ``kind`` with ``args``, made without calling its ``__init__`` (which
    may take other arguments): its ``str()`` is the recorded message."""
    error = kind.__new__(kind, *args)
    error.args = args
    return error
'''
