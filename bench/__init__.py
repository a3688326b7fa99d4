"""`fengqiao bench`: the escalation pipeline measured against the raw broker, in one run.

Not part of a node: nothing in `protocol`, `nodes` or `hub` imports this package. It drives real
node runtimes in child processes (`bench.worker`) against a real RabbitMQ, and reports the figures
of issue 5 (see BENCHMARKS.md for what each figure means and the last run's results).
"""
