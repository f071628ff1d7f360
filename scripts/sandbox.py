"""Runs one experiment command under resource limits and reports what it used.

usage: sandbox.py RESULT_JSON MEMORY_MB -- command...
The address-space limit applies to the command and its children; the result file gets the exit code and
the peak resident memory of the command's process tree (ru_maxrss of the children).
"""
import json
import resource
import subprocess
import sys


def main():
    result_path, memory_mb = sys.argv[1], int(sys.argv[2])
    command = sys.argv[sys.argv.index("--") + 1:]

    def limit():
        if memory_mb > 0:
            limit_bytes = memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))

    proc = subprocess.run(command, preexec_fn=limit)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(result_path, "w") as f:
        json.dump({"exitCode": proc.returncode, "peakMemoryMb": usage.ru_maxrss / 1024.0}, f)
    sys.exit(proc.returncode if proc.returncode >= 0 else 128 - proc.returncode)


if __name__ == "__main__":
    main()
