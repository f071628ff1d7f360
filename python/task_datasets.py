"""Prepares the Hub datasets a task reads with `datasets.load_dataset(id)`, so its experiments load them offline.

Run by the worker when it prepares such a task (src/tasks/hub-data.ts), with the task's own interpreter (its
`datasets` is the one the experiment will use), outside any sandbox: it needs the Hub (HF_ENDPOINT, a mirror;
HF_TOKEN). The task's code never runs here. Each dataset is loaded once at a pinned commit into
HF_DATASETS_CACHE, which the experiment, eval.py and prepare.py then read with HF_DATASETS_OFFLINE=1.

  task_datasets.py ID...

One JSON object on stdout: {"datasets": [{"id", "revision"}]}; failures as {"error": kind, "message": ...} with
exit status 2 (kind: gated, missing, refused, unavailable).
"""

import json
import sys


def fail(kind, message):
    print(json.dumps({"error": kind, "message": message[:500]}))
    sys.exit(2)


def main():
    try:
        import datasets
        from huggingface_hub import HfApi
        from huggingface_hub.utils import GatedRepoError, RepositoryNotFoundError
    except ImportError as err:
        fail("missing", f"the task's environment has no `datasets` to load Hub data with ({err})")
    api = HfApi()
    pinned = []
    for repo_id in sys.argv[1:]:
        try:
            # The commit now, so every later load (the experiment's, offline) reads exactly these files.
            revision = api.dataset_info(repo_id).sha
        except GatedRepoError:
            fail("gated", f"dataset {repo_id} is gated on the Hub: it needs an access request approved for HF_TOKEN")
        except RepositoryNotFoundError:
            fail("missing", f"dataset {repo_id} is not on the Hub (or not visible with this HF_TOKEN)")
        except Exception as err:  # the Hub down, slow or rate-limiting: worth another attempt later
            fail("unavailable", f"the Hub did not answer for dataset {repo_id}: {type(err).__name__}: {err}")
        try:
            datasets.load_dataset(repo_id, revision=revision)
        except (ConnectionError, TimeoutError) as err:
            fail("unavailable", f"dataset {repo_id}@{revision[:12]} could not be fetched: {type(err).__name__}: {err}")
        except Exception as err:  # its files or card do not make a dataset: the same on every attempt
            fail("refused", f"dataset {repo_id}@{revision[:12]} does not load: {type(err).__name__}: {err}")
        pinned.append({"id": repo_id, "revision": revision})
    print(json.dumps({"datasets": pinned}))


if __name__ == "__main__":
    main()
