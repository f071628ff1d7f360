import csv
import os


def get_score(submission_folder="../env"):
    """The number train.py wrote."""
    with open(os.path.join(submission_folder, "submission.csv")) as f:
        return float(next(csv.DictReader(f))["score"])
