"""Derives a review corpus deterministically (seed 0), writes ../env/data and the hidden answer.csv."""
import os
import numpy as np
import pandas as pd

rng = np.random.default_rng(0)
POSITIVE = ["good", "great", "excellent", "love", "wonderful", "reliable", "fast", "sturdy", "perfect", "happy"]
NEGATIVE = ["bad", "poor", "terrible", "hate", "awful", "broken", "slow", "flimsy", "useless", "sad"]
NEUTRAL = ["product", "item", "delivery", "box", "price", "color", "size", "battery", "screen", "manual",
           "the", "a", "it", "was", "is", "this", "very", "really", "quite", "overall"]


def review(label):
    words = list(rng.choice(NEUTRAL, size=rng.integers(6, 14)))
    for _ in range(rng.integers(1, 4)):
        negate = rng.random() < 0.3
        # A negated word of the opposite polarity carries this review's sentiment.
        pool = (NEGATIVE if label == 1 else POSITIVE) if negate else (POSITIVE if label == 1 else NEGATIVE)
        word = str(rng.choice(pool))
        words.insert(int(rng.integers(0, len(words) + 1)), f"not {word}" if negate else word)
    if rng.random() < 0.1:  # label noise
        label = 1 - label
    return " ".join(words), label


rows = [review(int(rng.integers(0, 2))) for _ in range(2400)]
frame = pd.DataFrame(rows, columns=["text", "label"])
train, test = frame.iloc[:1800], frame.iloc[1800:]
os.makedirs("../env/data", exist_ok=True)
train.to_csv("../env/data/train.csv", index=False)
test[["text"]].to_csv("../env/data/test.csv", index=False)
test[["label"]].to_csv("answer.csv", index=False)
