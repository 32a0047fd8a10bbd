"""threading.Thread (target and subclass) and ThreadPoolExecutor (submit and map) started
inside the recording: the threads' steps nest under the step that started them."""
import threading
from concurrent.futures import ThreadPoolExecutor


def helper(n):
    return n + 1


def job(n):
    return helper(n) * 2


RESULTS = {}


def thread_target(key, n):
    RESULTS[key] = job(n)


def start_threads():
    for i in range(2):
        t = threading.Thread(target=thread_target, args=(f"t{i}", i))
        t.start()
        t.join()


def use_pool():
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = [pool.submit(job, i) for i in range(3)]
        mapped = list(pool.map(helper, [10, 20]))
    return [f.result() for f in futures], mapped


class MyThread(threading.Thread):
    def run(self):
        self.value = job(100)


def subclassed():
    t = MyThread()
    t.start()
    t.join()
    return t.value


def main():
    RESULTS.clear()
    start_threads()
    pooled = use_pool()
    return dict(sorted(RESULTS.items())), pooled, subclassed()


UNORDERED = True
EXPECTED_TREE = """
main
  start_threads
    thread_target
      job
        helper
    thread_target
      job
        helper
  use_pool
    job
      helper
    job
      helper
    job
      helper
    helper
    helper
  subclassed
    MyThread.run
      job
        helper
"""
