// Writes jest's totals, and nothing else, to $MLR_CI_TOTALS. jest's own --json output serialises every
// failure's error and dies on one that holds a cycle (an HTTP error with its socket), losing the whole count.
'use strict';
const fs = require('node:fs');

class TotalsReporter {
  onRunComplete(_contexts, results) {
    const totals = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
    };
    fs.writeFileSync(process.env.MLR_CI_TOTALS, JSON.stringify(totals));
  }
}

module.exports = TotalsReporter;
