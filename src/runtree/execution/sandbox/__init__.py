"""The sandbox user code runs in: layers chosen by a start-up probe (see README, "Security
model").

* :mod:`.policy` -- what one execution's process may do (sent inside the job);
* :mod:`.confine` -- the process applies it to itself before any user code runs, in
  order: what is worked out once in the zygote (:mod:`.preparation`), rlimits
  (:mod:`.rlimits`), namespaces (:mod:`.namespaces`), Landlock (:mod:`.landlock_rules`, on
  :mod:`.readable_paths`), seccomp filters (:mod:`.seccomp`), messages for blocked calls
  (:mod:`.blocked_calls`); C library calls through :mod:`.libc`;
* :mod:`.config` -- what the sandbox may use here (environment, the server's settings);
* :mod:`.report` -- the start-up probe's findings, layer by layer (``runtree doctor``);
* :mod:`.probe` -- the probe's test process; :mod:`.detection` -- running it once per
  process (``Sandbox.probe``);
* :mod:`.slots` -- the platform's half: slot uids leased per execution, work directories,
  cgroups (:mod:`.cgroups`), cleaning a slot before its next execution; a slot uid's host-wide
  lock in :mod:`.uid_locks`, one execution's hold on a slot in :mod:`.lease`;
* :mod:`.processes` -- finding and killing every process of a slot uid;
* :mod:`.firewall` -- the egress firewall (nftables) of functions with network on;
* :mod:`.interpreter` -- the world-readable Python that runs user code, and how runtree
  code is started in it.

Only :mod:`.policy`, :mod:`.confine` and the modules it loads (those above, from
:mod:`.preparation` to :mod:`.libc`) load inside workers; this package's ``__init__``
imports nothing else, so importing it there stays cheap.
"""
