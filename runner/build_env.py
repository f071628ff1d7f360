#!/usr/bin/env python3
"""The environment build pod's entrypoint (standard library only, uv beside the interpreter or on PATH).

Makes MLR_ENVS_DIR/MLR_ENV_NAME: a venv of this image's interpreter holding exactly MLR_ENV_REQUIREMENTS,
installed by uv from wheels only (a source distribution would run its build code). The venv is built under a
temporary name on the same volume and renamed into place with a marker once complete, so an experiment
never sees half an environment; an environment already there is left as it is. The termination message
is a JSON summary: built or not, how long it took, and the error.
"""
import json
import os
import shutil
import subprocess
import sys
import time

MARKER = ".mlr-ready"


def summary_path():
    return os.environ.get("MLR_TERMINATION_LOG", "/dev/termination-log")


def finish(summary, code):
    with open(summary_path(), "w") as f:
        f.write(json.dumps(summary, separators=(",", ":"))[:4000])
    return code


def find_uv():
    beside = os.path.join(os.path.dirname(sys.executable), "uv")
    return beside if os.path.exists(beside) else shutil.which("uv")


def run(cmd, timeout):
    out = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    sys.stdout.write(out.stdout)
    sys.stdout.write(out.stderr)
    if out.returncode != 0:
        tail = " | ".join(out.stderr.strip().splitlines()[-6:])
        raise RuntimeError("%s %s failed (exit %d): %s" % (os.path.basename(cmd[0]), cmd[1], out.returncode, tail))


def main():
    started = time.time()
    root = os.environ["MLR_ENVS_DIR"]
    name = os.environ["MLR_ENV_NAME"]
    requirements = os.environ["MLR_ENV_REQUIREMENTS"]
    if not name.isalnum():
        return finish({"v": 1, "error": "bad environment name"}, 2)
    final = os.path.join(root, name)
    if os.path.exists(os.path.join(final, MARKER)):
        return finish({"v": 1, "built": False, "durationMs": 0}, 0)
    uv = find_uv()
    if not uv:
        return finish({"v": 1, "error": "uv is not installed in the runner image"}, 2)
    # One Job per name runs at a time, so whatever a killed pod left under this name's temporary prefix is stale.
    prefix = ".tmp-%s-" % name
    for entry in os.listdir(root):
        if entry.startswith(prefix):
            shutil.rmtree(os.path.join(root, entry), ignore_errors=True)
    tmp = os.path.join(root, "%s%d" % (prefix, os.getpid()))
    os.makedirs(tmp)
    try:
        req = os.path.join(tmp, "requirements.txt")
        with open(req, "w") as f:
            f.write(requirements)
        venv = os.path.join(tmp, "env")
        run([uv, "venv", "--quiet", "--python", sys.executable, venv], 600)
        py = os.path.join(venv, "bin", "python")
        run([uv, "pip", "install", "--quiet", "--only-binary", ":all:", "--python", py, "-r", req], 3600)
        shutil.copyfile(req, os.path.join(venv, "requirements.txt"))
        with open(os.path.join(venv, MARKER), "w") as f:
            f.write(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        # The venv's python finds its prefix through pyvenv.cfg beside it, so the move keeps it working.
        os.rename(venv, final)
    except Exception as e:  # noqa: BLE001 - reported to the worker
        return finish({"v": 1, "error": str(e)[:2000], "durationMs": int((time.time() - started) * 1000)}, 1)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return finish({"v": 1, "built": True, "durationMs": int((time.time() - started) * 1000)}, 0)


if __name__ == "__main__":
    sys.exit(main())
