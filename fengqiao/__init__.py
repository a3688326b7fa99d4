"""The top of the house: the composition root (`bootstrap`) and the `fengqiao` program (`main`).

Dependencies point one way: this package, `demo` and `ops` sit on `hub`, which sits on `nodes`,
which sits on `protocol`.
"""
