"""Writes the iris data into ../env/data and the hidden test labels into answer.csv (run with cwd=scripts)."""
import os

from sklearn.datasets import load_iris
from sklearn.model_selection import train_test_split

frame = load_iris(as_frame=True).frame
train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame["target"])
os.makedirs("../env/data", exist_ok=True)
train.to_csv("../env/data/train.csv", index=False)
test.drop(columns=["target"]).to_csv("../env/data/test.csv", index=False)
test[["target"]].to_csv("answer.csv", index=False)
