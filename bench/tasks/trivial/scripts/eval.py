import os


def get_score(submission_folder="../env"):
    """The number train.py wrote."""
    with open(os.path.join(submission_folder, "submission.txt")) as f:
        return float(f.read().strip())
