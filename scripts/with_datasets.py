"""Gives a command a writable view of a read-only `datasets` cache, then runs it in its place.

usage: with_datasets.py CACHE -- command...
`datasets` takes file locks inside its cache even to read a prepared dataset offline, so a read-only mount
alone fails. The view, at $HF_DATASETS_CACHE (a folder of the execution's own, such as the sandbox's private
/tmp), has real folders where the locks go and links to the cache's files, which stay read-only: nothing an
experiment does there reaches the cache that other runs read.
"""
import os
import sys


def mirror(source, view):
    for folder, _dirs, files in os.walk(source):
        rel = os.path.relpath(folder, source)
        target = os.path.normpath(os.path.join(view, rel))
        os.makedirs(target, exist_ok=True)
        for name in files:
            if not name.endswith(".lock"):
                os.symlink(os.path.join(folder, name), os.path.join(target, name))


def main():
    sep = sys.argv.index("--")
    mirror(sys.argv[1], os.environ["HF_DATASETS_CACHE"])
    command = sys.argv[sep + 1:]
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
