"""The service's Hub client: search, inspect and fetch models and datasets with huggingface_hub.

Run by the worker (src/clients/hub.ts) in the service venv, never inside an experiment's sandbox. It reads the
Hub's own variables: HF_ENDPOINT (a mirror) and HF_TOKEN (never passed to experiments). One JSON object on
stdout; failures as {"error": kind, "message": ...} with exit status 2.

  hub.py search  KIND QUERY LIMIT
  hub.py inspect KIND REPO_ID [REVISION]
  hub.py fetch   KIND REPO_ID REVISION CACHE_DIR
"""

import json
import sys

from huggingface_hub import HfApi, snapshot_download
from huggingface_hub.utils import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)


def licence_of(info):
    card = getattr(info, "card_data", None) or getattr(info, "cardData", None)
    value = None
    if card is not None:
        value = card.get("license") if hasattr(card, "get") else getattr(card, "license", None)
    if not value:
        for tag in info.tags or []:
            if tag.startswith("license:"):
                value = tag[len("license:"):]
                break
    if isinstance(value, list):
        value = value[0] if value else None
    return value


def summary(info):
    return {
        "id": info.id,
        "sha": info.sha,
        "downloads": getattr(info, "downloads", None) or 0,
        "likes": getattr(info, "likes", None) or 0,
        "tags": list(info.tags or []),
        "pipelineTag": getattr(info, "pipeline_tag", None),
        "licence": licence_of(info),
        "gated": bool(getattr(info, "gated", False)),
        "private": bool(getattr(info, "private", False)),
    }


def search(kind, query, limit):
    api = HfApi()
    found = api.list_models(search=query, limit=limit) if kind == "model" else api.list_datasets(search=query, limit=limit)
    return {"results": [summary(i) for i in found]}


def inspect(kind, repo_id, revision=None):
    api = HfApi()
    info = api.repo_info(repo_id, repo_type=kind, revision=revision, files_metadata=True)
    out = summary(info)
    out["files"] = [{"path": s.rfilename, "size": s.size or 0} for s in (info.siblings or [])]
    return out


def fetch(kind, repo_id, revision, cache_dir):
    path = snapshot_download(repo_id, repo_type=kind, revision=revision, cache_dir=cache_dir)
    return {"path": path}


def main(argv):
    command, kind = argv[1], argv[2]
    if kind not in ("model", "dataset"):
        raise SystemExit("kind must be model or dataset")
    try:
        if command == "search":
            result = search(kind, argv[3], int(argv[4]))
        elif command == "inspect":
            result = inspect(kind, argv[3], argv[4] if len(argv) > 4 else None)
        elif command == "fetch":
            result = fetch(kind, argv[3], argv[4], argv[5])
        else:
            raise SystemExit("unknown command " + command)
    except GatedRepoError as e:
        return fail("gated", e)
    except RepositoryNotFoundError as e:
        return fail("missing", e)
    except (RevisionNotFoundError, EntryNotFoundError) as e:
        return fail("missing", e)
    except HfHubHTTPError as e:
        status = getattr(getattr(e, "response", None), "status_code", None)
        return fail("rate_limited" if status == 429 else "unavailable", e)
    except (OSError, ValueError) as e:
        return fail("unavailable", e)
    print(json.dumps(result))
    return 0


def fail(kind, err):
    print(json.dumps({"error": kind, "message": str(err).splitlines()[0][:300] if str(err) else kind}))
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
