// A task folder in the shape of upstream MLAgentBench's imdb (benchmarks/imdb): no task.json, no requirements, no
// prepare.py; its train.py and eval.py call `load_dataset("imdb")` as upstream's do. The starter here is a
// keyword rule instead of upstream's skeleton (which is not meant to run), so that an execution has a score.
import fs from 'node:fs';
import path from 'node:path';

const TRAIN = `from datasets import load_dataset
import pandas as pd

if __name__ == "__main__":
    imdb = load_dataset("imdb")
    print("train", len(imdb["train"]), "test", len(imdb["test"]), "unsupervised", len(imdb["unsupervised"]))
    # A keyword rule stands in for the model the task asks for: P(negative), P(positive) per test review.
    rows = [[0.1, 0.9] if "great" in r["text"] else [0.9, 0.1] for r in imdb["test"]]
    pd.DataFrame(rows, columns=[0, 1]).to_csv("submission.csv", index_label="idx")
`;

const EVAL = `import os
import pandas as pd
from datasets import load_dataset


def get_score(submission_folder="../env"):
    submission = pd.read_csv(os.path.join(submission_folder, "submission.csv"), index_col="idx")
    test = load_dataset("imdb")["test"]
    correct = sum(int(submission.loc[i].argmax() == row["label"]) for i, row in enumerate(test))
    return correct / len(test)


if __name__ == "__main__":
    print(get_score())
`;

/** Writes the folder as `<parent>/<name>` (named imdb, the upstream table's entry applies) and returns it. */
export function writeImdbTask(parent: string, name = 'imdb', manifest?: object): string {
  const dir = path.join(parent, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'env'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'scripts'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'env', 'train.py'), TRAIN);
  fs.writeFileSync(path.join(dir, 'scripts', 'eval.py'), EVAL);
  fs.writeFileSync(
    path.join(dir, 'scripts', 'research_problem.txt'),
    'Fill out train.py to classify the sentiment of movie reviews from the imdb dataset and save the ' +
      'per-class probabilities of the test set to submission.csv.\n',
  );
  if (manifest) fs.writeFileSync(path.join(dir, 'task.json'), JSON.stringify(manifest));
  return dir;
}
