"""Writes the data into ../env/data and the hidden test targets into answer.csv (run with cwd=scripts)."""
import os
from sklearn.datasets import load_diabetes
from sklearn.model_selection import train_test_split

frame = load_diabetes(as_frame=True).frame
train, test = train_test_split(frame, test_size=0.25, random_state=0)
os.makedirs("../env/data", exist_ok=True)
train.to_csv("../env/data/train.csv", index=False)
test.drop(columns=["target"]).to_csv("../env/data/test.csv", index=False)
test[["target"]].to_csv("answer.csv", index=False)
