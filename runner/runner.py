#!/usr/bin/env python3
"""The experiment pod's entrypoint (standard library only).

Fetches the workspace tarball from a presigned GET URL, runs the script with a wall-clock limit, streams
its output to the pod log while keeping a bounded copy, uploads that log and the workspace (outputs
included) through presigned PUT URLs, and leaves a JSON summary of at most 4 KiB in the termination
message: exit code, duration, peak memory, and the GPU as nvidia-smi sees it. The script runs with this
image's interpreter, or with the task's own environment (MLR_PYTHON, built by build_env.py). The hidden
evaluation never runs here: the worker scores the returned outputs.
"""
import io
import json
import os
import resource
import signal
import subprocess
import sys
import tarfile
import threading
import time
import urllib.request

MAX_LOG = int(os.environ.get("MLR_MAX_LOG_BYTES", str(16 * 1024 * 1024)))
MAX_OUTPUT = int(os.environ.get("MLR_MAX_OUTPUT_BYTES", str(512 * 1024 * 1024)))
INFRA_EXIT = 75  # EX_TEMPFAIL: the runner could not do its part (download, upload)


def hide_from_the_script():
    """The script runs as this uid: while this process is dumpable, /proc/<its pid>/environ (and its memory)
    would show the script the presigned URLs it was started with. Not dumpable, only a process with
    CAP_SYS_PTRACE can read them, which the pod's containers never have. Fails loudly where prctl does."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_dumpable = 4
    if libc.prctl(pr_set_dumpable, 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def summary_path():
    return os.environ.get("MLR_TERMINATION_LOG", "/dev/termination-log")


def write_summary(summary):
    text = json.dumps(summary, separators=(",", ":"))
    if len(text) > 4000:
        summary.pop("gpu", None)
        summary["error"] = str(summary.get("error", ""))[:500]
        text = json.dumps(summary, separators=(",", ":"))[:4000]
    with open(summary_path(), "w") as f:
        f.write(text)


def http(method, url, data=None, timeout=300):
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Length", str(len(data)))
    for attempt in range(5):
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                return resp.read()
        except Exception:  # noqa: BLE001 - retried, then reported
            if attempt == 4:
                raise
            time.sleep(2**attempt)
    return b""


def safe_extract(data, dest):
    """Regular files and folders only, inside dest: no links, devices or paths that climb out."""
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            name = os.path.normpath(m.name)
            if name.startswith("/") or name == ".." or name.startswith("../"):
                raise ValueError("unsafe path in workspace tarball: %r" % m.name)
            target = os.path.join(dest, name)
            if m.isdir():
                os.makedirs(target, exist_ok=True)
            elif m.isfile():
                os.makedirs(os.path.dirname(target), exist_ok=True)
                with tar.extractfile(m) as src, open(target, "wb") as out:
                    out.write(src.read())
                os.chmod(target, 0o644 | (m.mode & 0o111))


class BoundedLog:
    """The head (half the cap) and a rolling tail, with a marker saying how much was left out."""

    def __init__(self, cap):
        self.half = cap // 2
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def push(self, chunk):
        self.total += len(chunk)
        room = self.half - len(self.head)
        if room > 0:
            self.head += chunk[:room]
            chunk = chunk[room:]
        if chunk:
            self.tail += chunk
            if len(self.tail) > self.half:
                del self.tail[: len(self.tail) - self.half]

    def contents(self):
        omitted = self.total - len(self.head) - len(self.tail)
        if omitted <= 0:
            return bytes(self.head + self.tail)
        return bytes(self.head) + ("\n[... %d bytes of output omitted ...]\n" % omitted).encode() + bytes(self.tail)


def gpu_info():
    info = {}
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,memory.total,memory.used,utilization.gpu", "--format=csv,noheader,nounits"],
            capture_output=True, text=True, timeout=20,
        )
        rows = [r.split(", ") for r in out.stdout.strip().splitlines() if r.strip()]
        if out.returncode == 0 and rows:
            info["devices"] = [
                {"name": r[0], "memoryTotalMb": float(r[1]), "memoryUsedMb": float(r[2]), "utilization": float(r[3])}
                for r in rows if len(r) >= 4
            ]
    except (OSError, subprocess.SubprocessError, ValueError):
        pass
    return info


def pack(workspace):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for root, dirs, files in os.walk(workspace):
            dirs[:] = [d for d in dirs if not os.path.islink(os.path.join(root, d))]
            for name in files:
                path = os.path.join(root, name)
                if os.path.islink(path) or not os.path.isfile(path):
                    continue  # links and special files never leave the pod
                tar.add(path, arcname=os.path.relpath(path, workspace), recursive=False)
                if buf.tell() > MAX_OUTPUT:
                    raise ValueError("the workspace is larger than %d bytes compressed" % MAX_OUTPUT)
    return buf.getvalue()


def main():
    started = time.time()
    workspace = os.environ.get("MLR_WORKSPACE", "/workspace")
    script = os.environ["MLR_SCRIPT"]
    timeout = float(os.environ.get("MLR_TIMEOUT_S", "600"))
    summary = {"v": 1}
    try:
        hide_from_the_script()
    except OSError as e:
        summary.update(phase="sandbox", error=str(e)[:1000])
        write_summary(summary)
        return INFRA_EXIT
    try:
        safe_extract(http("GET", os.environ["MLR_INPUT_URL"]), workspace)
    except Exception as e:  # noqa: BLE001
        summary.update(phase="download", error=str(e)[:1000], durationMs=int((time.time() - started) * 1000))
        write_summary(summary)
        return INFRA_EXIT
    # A task with its own environment runs in it (a venv on the read-only environments volume), built before.
    python = os.environ.get("MLR_PYTHON") or sys.executable
    ready = os.path.join(os.path.dirname(os.path.dirname(python)), ".mlr-ready")
    if python != sys.executable and not os.path.exists(ready):
        summary.update(phase="environment", error="the task's environment %s is not built" % python[:300])
        write_summary(summary)
        return INFRA_EXIT
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLR_") or k == "MLR_SEED"}
    log = BoundedLog(MAX_LOG)
    run_started = time.time()
    proc = subprocess.Popen(
        [python, "-u", script], cwd=workspace, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL, start_new_session=True,
    )

    def pump():
        for chunk in iter(lambda: proc.stdout.read1(65536), b""):
            log.push(chunk)
            sys.stdout.buffer.write(chunk)
            sys.stdout.flush()

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    timed_out = False
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # anything the script left behind in its session
    except OSError:
        pass
    reader.join(timeout=10)
    code = proc.returncode
    exit_code = 128 - code if code < 0 else code
    summary.update(
        exitCode=exit_code,
        timedOut=timed_out,
        durationMs=int((time.time() - run_started) * 1000),
        peakMemoryMb=round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        logBytes=log.total,
    )
    gpu = gpu_info()
    if gpu:
        summary["gpu"] = gpu
    try:
        http("PUT", os.environ["MLR_LOG_URL"], log.contents())
        out = pack(workspace)
        http("PUT", os.environ["MLR_OUTPUT_URL"], out)
        summary["outputBytes"] = len(out)
    except Exception as e:  # noqa: BLE001
        summary.update(phase="upload", error=str(e)[:1000])
        write_summary(summary)
        return INFRA_EXIT
    write_summary(summary)
    if timed_out:
        return 124
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
