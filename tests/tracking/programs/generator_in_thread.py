"""A generator started in the main thread and finished by a worker thread."""
import threading


def log(x):
    return x


def counter():
    log("start")
    yield 1
    log("resumed")
    yield 2


def consume_rest(gen, out):
    out.extend(gen)
    log("thread-done")


def main():
    gen = counter()
    out = [next(gen)]
    t = threading.Thread(target=consume_rest, args=(gen, out))
    t.start()
    t.join()
    return out, log("main-done")


EXPECTED_TREE = """
main
  counter
    log
    log
  consume_rest
    log
  log
"""
