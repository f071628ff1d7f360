import json
import os

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split

SEED = int(os.environ.get("MLR_SEED", "0"))
np.random.seed(SEED)

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
X_tr, X_val, y_tr, y_val = train_test_split(train["text"], train["label"], test_size=0.2, random_state=SEED)

vectorizer = CountVectorizer()
model = SGDClassifier(max_iter=5, tol=None, random_state=SEED)
model.fit(vectorizer.fit_transform(X_tr), y_tr)
val_accuracy = float((model.predict(vectorizer.transform(X_val)) == y_val).mean())

model.fit(vectorizer.fit_transform(train["text"]), train["label"])
pd.DataFrame({"label": model.predict(vectorizer.transform(test["text"]))}).to_csv("submission.csv", index=False)
with open("metrics.json", "w") as f:
    json.dump({"val_accuracy": val_accuracy}, f)
print(json.dumps({"val_accuracy": val_accuracy}))
