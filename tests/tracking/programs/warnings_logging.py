"""warnings.warn(stacklevel=N) and logging's caller lookup walk frames: the reported file,
line and function are unchanged."""
import io
import logging
import warnings


def deprecated_api():
    warnings.warn("old api", DeprecationWarning, stacklevel=2)
    return 1


def deeper():
    warnings.warn("two up", UserWarning, stacklevel=3)


def caller_of_deeper():
    deeper()


def log_something(logger):
    logger.warning("from function")
    logger.warning("one up", stacklevel=2)


def main():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        deprecated_api()
        caller_of_deeper()
    stream = io.StringIO()
    logger = logging.getLogger("runtree-transparency")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(funcName)s:%(lineno)d:%(message)s"))
    logger.addHandler(handler)
    logger.propagate = False
    try:
        log_something(logger)
    finally:
        logger.removeHandler(handler)
    return [(w.lineno, w.filename.rsplit("/", 1)[-1], str(w.message), w.category.__name__)
            for w in caught], stream.getvalue()


EXPECTED_TREE = """
main
  deprecated_api
  caller_of_deeper
    deeper
  log_something
"""
