import os

import pandas as pd


def get_score(submission_folder="../env"):
    """Accuracy of submission.csv ("target", one row per test row) against the hidden labels."""
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"))
    answer = pd.read_csv(os.path.join(os.path.dirname(os.path.abspath(__file__)), "answer.csv"))
    if len(submission) != len(answer):
        raise ValueError(f"submission has {len(submission)} rows, expected {len(answer)}")
    return float((submission["target"].to_numpy() == answer["target"].to_numpy()).mean())
