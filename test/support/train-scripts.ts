// Candidate versions of tasks/breast-cancer/env/train.py that the scripted agent writes, derived from
// the starter so they follow it when it changes.
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './paths';

const STARTER = fs.readFileSync(path.join(ROOT, 'tasks', 'breast-cancer', 'env', 'train.py'), 'utf8');
const MODEL_LINE = 'model = SGDClassifier(loss="log_loss", max_iter=20, random_state=SEED)';
if (!STARTER.includes(MODEL_LINE))
  throw new Error('the breast-cancer starter changed: update test/support/train-scripts.ts');

/** The idea's change: standardise the features before the SGD classifier. */
export const SCALED_TRAIN = STARTER.replace(
  'from sklearn.model_selection import train_test_split\n',
  'from sklearn.model_selection import train_test_split\nfrom sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n',
).replace(
  MODEL_LINE,
  'model = make_pipeline(StandardScaler(), SGDClassifier(loss="log_loss", max_iter=1000, random_state=SEED))',
);

/** The same change with a planted bug: a misspelt name that only shows when the script runs. */
export const BUGGY_TRAIN = SCALED_TRAIN.replace(
  'model = make_pipeline(StandardScaler()',
  'model = make_pipeline(StandardScalr()',
);

const UNFINISHED = '    raise NotImplementedError("the model is not written yet")';

/** tasks/iris-incomplete's starter with its missing model written (a logistic regression): what an agent completes. */
export function completedIrisStarter(): string {
  const starter = fs.readFileSync(path.join(ROOT, 'tasks', 'iris-incomplete', 'env', 'train.py'), 'utf8');
  if (!starter.includes(UNFINISHED))
    throw new Error('the iris-incomplete starter changed: update test/support/train-scripts.ts');
  return starter.replace(
    UNFINISHED,
    '    from sklearn.linear_model import LogisticRegression\n\n' +
      '    return LogisticRegression(max_iter=500, random_state=SEED).fit(features, labels).predict(unseen)',
  );
}
