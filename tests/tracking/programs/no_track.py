"""`# runtree: no-track` on a def line (or its first decorator's line) leaves that function and
its nested defs untouched; tracked functions they call nest under the nearest tracked step."""


def tag(fn):
    fn.tagged = True
    return fn


def tracked_leaf(x):
    return x


def untracked(x):  # runtree: no-track
    def nested_untracked(y):
        return tracked_leaf(y)

    return nested_untracked(x) + 1


# runtree: no-track   (a comment on its own line does not opt anything out)
def still_tracked():
    return 0


@tag  # runtree: no-track
@tag
def decorated_untracked():
    return tracked_leaf(2)


@tag
@tag  # runtree: no-track   (only the first decorator's line counts)
def decorated_tracked():
    return 3


class K:
    def method(self):  # runtree: no-track
        return tracked_leaf(1)

    def tracked_method(self):
        return "# runtree: no-track in a string is not a comment"


async def untracked_async():  # runtree:no-track
    return tracked_leaf("async")


def untracked_gen():  # runtree: no-track
    yield tracked_leaf("gen")


def main():
    import asyncio

    return (untracked(1), still_tracked(), decorated_untracked(), decorated_tracked(),
            K().method(), K().tracked_method(), asyncio.run(untracked_async()),
            list(untracked_gen()), decorated_untracked.tagged)


EXPECTED_TREE = """
main
  tracked_leaf
  still_tracked
  tracked_leaf
  decorated_tracked
  tracked_leaf
  K.tracked_method
  tracked_leaf
  tracked_leaf
"""
