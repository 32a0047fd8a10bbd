"""Running executions: the dispatcher, the zygote and worker processes, the supervisor and the
sandbox (:mod:`.sandbox`). Imports nothing, so a worker loads only the modules it uses."""
