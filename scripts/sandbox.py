"""Runs one experiment command under resource limits and reports what it used.

usage: sandbox.py MEMORY_MB [--procs N] [--file-mb MB] -- command...
The data limit applies to the command and its children: RLIMIT_DATA, the private writable memory it maps
(its heap and anonymous mappings), not the address space, which CUDA and JIT runtimes reserve by the
gigabyte (an address-space cap of a few GB stops `import torch` itself). So do, when given, the process-count
limit of the sandbox's own uid and the largest file it may write. The report (exit code and the peak
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
    sep = sys.argv.index("--")
    options = sys.argv[2:sep]
    command = sys.argv[sep + 1:]
    procs = int(options[options.index("--procs") + 1]) if "--procs" in options else 0
    file_mb = int(options[options.index("--file-mb") + 1]) if "--file-mb" in options else 0

    def limit():
        if memory_mb > 0:
            limit_bytes = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_DATA, (limit_bytes, limit_bytes))
        if procs > 0:
            # Counted per uid: the sandbox's uid is its own, so this caps this execution's processes.
            resource.setrlimit(resource.RLIMIT_NPROC, (procs, procs))
        if file_mb > 0:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_mb * 1024 * 1024, file_mb * 1024 * 1024))

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
