"""The stack a thread's target sees (frames above it) is unchanged."""
import sys
import threading


def depth_in_thread(out):
    depth = 0
    frame = sys._getframe()
    names = []
    while frame is not None:
        depth += 1
        names.append(frame.f_code.co_name)
        frame = frame.f_back
    out.append((depth, names))


def main():
    out = []
    t = threading.Thread(target=depth_in_thread, args=(out,))
    t.start()
    t.join()
    return out


EXPECTED_TREE = """
main
  depth_in_thread
"""
