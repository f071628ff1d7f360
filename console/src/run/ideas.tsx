// The ideas of the current round side by side, and the decision on them: approve one, revise all with
// feedback, or reject the run.
import { useState } from 'preact/hooks';
import { type ApiError, postJson } from '../api';
import type { Idea, Run } from '../types';
import { ErrorBox } from '../ui';

function Score({ label, value }: { label: string; value: number | null | undefined }) {
  return (
    <span class="score" title={label}>
      {label} <strong>{value ?? '–'}</strong>
    </span>
  );
}

function IdeaCard(props: { idea: Idea; selected: boolean; deciding: boolean; onApprove: () => void }) {
  const { idea } = props;
  return (
    <article class={`idea ${props.selected ? 'selected' : ''}`} data-testid="idea" aria-label={idea.title}>
      <header>
        <span class="rank">#{idea.rank ?? '?'}</span>
        <h3>{idea.title}</h3>
      </header>
      <div class="scores">
        <Score label="review" value={idea.review?.score} />
        <Score label="novelty" value={idea.noveltyScore} />
        <Score label="feasibility" value={idea.feasibilityScore} />
      </div>
      <h4>Hypothesis</h4>
      <p>{idea.hypothesis}</p>
      <h4>Plan</h4>
      <ol>
        {idea.experimentPlan.steps.map((s, i) => (
          <li key={i}>{s}</li>
        ))}
      </ol>
      <dl class="compact">
        <dt>Dataset</dt>
        <dd>{idea.experimentPlan.dataset}</dd>
        <dt>Metric</dt>
        <dd>{idea.experimentPlan.metric}</dd>
        <dt>Baseline</dt>
        <dd>{idea.experimentPlan.baseline}</dd>
        <dt>Expected</dt>
        <dd>{idea.experimentPlan.expectedOutcome}</dd>
      </dl>
      {idea.review?.critique ? (
        <details>
          <summary>Reviewer's critique</summary>
          <p>{idea.review.critique}</p>
        </details>
      ) : null}
      {props.deciding ? (
        <button class="primary" onClick={props.onApprove}>
          Approve “{idea.title.length > 40 ? `${idea.title.slice(0, 40)}…` : idea.title}”
        </button>
      ) : null}
      {props.selected ? <p class="badge ok">approved</p> : null}
    </article>
  );
}

export function Ideas({ run, onChanged }: { run: Run; onChanged: () => void }) {
  const [feedback, setFeedback] = useState('');
  const [error, setError] = useState<ApiError>();
  const [busy, setBusy] = useState(false);
  const deciding = run.status === 'awaiting_approval';
  const decide = async (body: Record<string, string>) => {
    setBusy(true);
    setError(undefined);
    try {
      await postJson(`/v1/runs/${run.id}/approval`, body);
      setFeedback('');
      onChanged();
    } catch (err) {
      setError(err as ApiError);
    } finally {
      setBusy(false);
    }
  };
  const current = run.ideas.filter((i) => i.round === run.round);
  const shown = current.length > 0 ? current : run.ideas;
  if (shown.length === 0) return <p class="muted">No ideas yet: they come after the analysis and retrieval.</p>;
  return (
    <>
      <p class="muted">
        Round {run.round + 1}
        {run.ideas.length > shown.length ? ` (${run.ideas.length - shown.length} ideas from earlier rounds)` : ''}
      </p>
      <div class="ideas">
        {shown.map((idea) => (
          <IdeaCard
            key={idea.id}
            idea={idea}
            selected={run.selectedIdeaId === idea.id}
            deciding={deciding && !busy}
            onApprove={() => void decide({ decision: 'approve', ideaId: idea.id })}
          />
        ))}
      </div>
      {deciding ? (
        <form
          class="decide"
          aria-label="Revise or reject"
          onSubmit={(e) => {
            e.preventDefault();
            void decide({ decision: 'revise', feedback });
          }}
        >
          <label for="revise-feedback">Feedback for a new round of ideas</label>
          <textarea
            id="revise-feedback"
            rows={3}
            maxLength={20000}
            value={feedback}
            onInput={(e) => setFeedback((e.target as HTMLTextAreaElement).value)}
          />
          <div class="row">
            <button type="submit" disabled={busy || !feedback.trim()}>
              Revise with feedback
            </button>
            <button
              type="button"
              class="danger"
              disabled={busy}
              onClick={() => {
                if (confirm('Reject every idea and end this run?')) void decide({ decision: 'reject' });
              }}
            >
              Reject
            </button>
          </div>
        </form>
      ) : null}
      <ErrorBox error={error} />
    </>
  );
}
