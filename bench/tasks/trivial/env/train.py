# A task that costs nothing but a Python start: the campaign benchmark measures orchestration, not training.
import os

seed = int(os.environ.get("MLR_SEED", "0"))
with open("submission.csv", "w") as f:
    f.write(f"score\n{0.5 + (seed % 7) / 100}\n")
