// Candidate versions of tasks/breast-cancer/env/train.py that the scripted agent writes.

/** The idea's change: standardise the features before the SGD classifier. */
export const SCALED_TRAIN = `import json
import os

import numpy as np
import pandas as pd
from sklearn.linear_model import SGDClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

SEED = int(os.environ.get("MLR_SEED", "0"))
np.random.seed(SEED)

train = pd.read_csv("data/train.csv")
test = pd.read_csv("data/test.csv")
X, y = train.drop(columns=["target"]), train["target"]
X_tr, X_val, y_tr, y_val = train_test_split(X, y, test_size=0.2, random_state=SEED, stratify=y)

model = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", max_iter=1000, random_state=SEED))
model.fit(X_tr, y_tr)
val_accuracy = float((model.predict(X_val) == y_val).mean())

model.fit(X, y)
pd.DataFrame({"target": model.predict(test)}).to_csv("submission.csv", index=False)
with open("metrics.json", "w") as f:
    json.dump({"val_accuracy": val_accuracy}, f)
print(json.dumps({"val_accuracy": val_accuracy}))
`;

/** The same change with a planted bug: a misspelt name that only shows when the script runs. */
export const BUGGY_TRAIN = SCALED_TRAIN.replace('model = make_pipeline(StandardScaler()', 'model = make_pipeline(StandardScalr()');
