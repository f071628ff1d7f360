import os

import numpy as np
import pandas as pd

CLASSES = [f"p{k}" for k in range(10)]


def get_score(submission_folder="../env"):
    """Multi-class log loss of the predicted probabilities (lower is better).

    submission.csv holds one row per test row with columns p0..p9. Rows are renormalised and clipped to
    [1e-15, 1], as the usual definition does, so a confident wrong answer costs about 34.5, not infinity.
    """
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"))
    answer = pd.read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), "answer.csv"))
    missing = [c for c in CLASSES if c not in submission.columns]
    if missing:
        raise ValueError(f"submission.csv lacks the columns {missing}")
    if len(submission) != len(answer):
        raise ValueError(f"submission has {len(submission)} rows, expected {len(answer)}")
    p = submission[CLASSES].to_numpy(dtype=float)
    if not np.isfinite(p).all() or (p < 0).any():
        raise ValueError("probabilities must be finite and non-negative")
    p = np.clip(p / p.sum(axis=1, keepdims=True), 1e-15, 1.0)
    truth = answer["target"].to_numpy()
    return float(-np.log(p[np.arange(len(truth)), truth]).mean())
