"""The sandbox user code runs in: layers chosen by a start-up probe (see README, "Security
model").

* :mod:`.policy` -- what one execution's process may do (sent inside the job);
* :mod:`.confine` -- the process applies it to itself before any user code runs;
* :mod:`.host` -- the platform's half: probe and report, slot uids, work directories,
  cgroups, cleaning a slot before its next execution;
* :mod:`.runtime` -- the world-readable Python that runs user code;
* :mod:`.probe` -- the probe's test process.

Only :mod:`.policy` and :mod:`.confine` load inside workers; this package's ``__init__``
imports nothing else, so importing it there stays cheap.
"""
