// A report's provenance names the versions of the packages a task pinned: their names come from its requirements.
import { requirementNames } from '../../src/activities/validation';

it('reads package names from pinned requirements, extras, markers and hashes included', () => {
  const requirements = [
    'numpy==1.26.4',
    'torch[cpu] == 2.4.1 ; platform_system == "Linux"',
    'scikit-learn===1.5.2 --hash=sha256:' + 'a'.repeat(64),
  ].join('\n');
  expect(requirementNames(requirements)).toEqual(['numpy', 'torch', 'scikit-learn']);
  expect(requirementNames(undefined)).toEqual([]);
});
