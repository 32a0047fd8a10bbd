"""Arguments with state that capturing could disturb: open files (their position), an
iterator, a generator, a StringIO, a held lock, a closed file."""
import io
import os
import tempfile
import threading


def read_some(handle, n):
    return handle.read(n)


def first(iterator):
    return next(iterator)


def holds(lock):
    return lock.locked()


def main():
    fd, path = tempfile.mkstemp()
    try:
        with os.fdopen(fd, "w") as out:
            out.write("abcdef")
        with open(path) as text, open(path, "rb") as binary:
            results = [read_some(text, 2), text.tell(), read_some(binary, 3), binary.tell()]
        results.append(text.closed)
        try:
            read_some(text, 1)
        except ValueError as exc:
            results.append(str(exc))
    finally:
        os.remove(path)
    it = iter([1, 2, 3])
    gen = (x for x in "xyz")
    buf = io.StringIO("hello")
    buf.seek(1)
    lock = threading.Lock()
    lock.acquire()
    results += [first(it), next(it), first(gen), next(gen), read_some(buf, 2), buf.tell(),
                holds(lock)]
    lock.release()
    return results


EXPECTED_TREE = """
main
  read_some
  read_some
  read_some [failed]
  first
  first
  read_some
  holds
"""
