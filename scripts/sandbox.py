"""Runs one experiment command under resource limits and reports what it used.

usage: sandbox.py MEMORY_MB -- command...
The address-space limit applies to the command and its children. The report (exit code and the peak
resident memory of the command's process tree, ru_maxrss of the children) goes to file descriptor 3 when
the caller opened one; the command itself never sees that descriptor (close_fds). It runs inside the
sandbox, next to the command, so the children it measures are the experiment's own.
"""
import json
import os
import resource
import subprocess
import sys


def main():
    memory_mb = int(sys.argv[1])
    command = sys.argv[sys.argv.index("--") + 1:]

    def limit():
        if memory_mb > 0:
            limit_bytes = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    proc = subprocess.run(command, preexec_fn=limit, close_fds=True)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    try:
        with os.fdopen(3, "w") as report:
            json.dump({"exitCode": proc.returncode, "peakMemoryMb": usage.ru_maxrss / 1024.0}, report)
    except OSError:
        pass  # no report channel: the caller did not ask
    sys.exit(proc.returncode if proc.returncode >= 0 else 128 - proc.returncode)


if __name__ == "__main__":
    main()
