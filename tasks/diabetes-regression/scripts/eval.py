import os
import numpy as np
import pandas as pd


def get_score(submission_folder="../env"):
    """Root-mean-squared error of submission.csv against the hidden targets (lower is better)."""
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"))
    answer = pd.read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), "answer.csv"))
    if len(submission) != len(answer):
        raise ValueError(f"submission has {len(submission)} rows, expected {len(answer)}")
    return float(np.sqrt(((submission["target"].values - answer["target"].values) ** 2).mean()))
