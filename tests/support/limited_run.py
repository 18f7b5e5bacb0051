"""Runs a snippet of Python in a fresh interpreter, optionally under an address-space limit.

For the reliability tests of the C++ core: a process that may crash (or that sets resource
limits) must not be the test runner. `limit_address_space(extra)` in the child caps the address
space at what the process already maps plus `extra` bytes, so an allocation larger than that fails
deterministically and cheaply (nothing is touched, only reserved).
"""

import os
import subprocess
import sys
import textwrap

PRELUDE = '''
import resource


def limit_address_space(extra):
    """Caps RLIMIT_AS at the current virtual size plus `extra` bytes."""
    with open("/proc/self/status") as f:
        vm = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
    resource.setrlimit(resource.RLIMIT_AS, (vm + extra, resource.getrlimit(resource.RLIMIT_AS)[1]))
'''


def run_python(*parts, env=None, timeout=120):
    """Runs the code `parts` (each dedented; after PRELUDE) in a new interpreter; returns the
    CompletedProcess."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-c", "\n".join([PRELUDE, *map(textwrap.dedent, parts)])],
                          capture_output=True, text=True, timeout=timeout, env=full_env)


def describe(proc):
    """The exit status and the ends of both streams, for assertion messages."""
    return f"exit {proc.returncode}\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}"
