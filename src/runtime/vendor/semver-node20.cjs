// Build-time stand-in for `semver` inside the jsonwebtoken bundle (scripts/build.mjs aliases it
// here, and fails the build if jsonwebtoken asks a question that is not in ANSWERS).
// jsonwebtoken asks semver three questions about the running Node at load time; on every
// Node this package supports (engines >= 20.18) the answer is yes. Loading semver for them
// costs ~17 ms of start-up (40 modules, a hundred regexes), a third of verify-token's budget.
'use strict';

const ANSWERS = new Map([
  ['>=15.7.0', true],
  ['>=16.9.0', true],
  ['^6.12.0 || >=8.0.0', true],
]);

exports.ANSWERS = ANSWERS;

exports.satisfies = function satisfies(version, range) {
  const major = Number(/^v?(\d+)/.exec(String(version))?.[1]);
  if (ANSWERS.has(range) && major >= 20) return ANSWERS.get(range);
  throw new Error(
    `muvee-dingtalk's semver stand-in cannot answer satisfies(${version}, ${range}); rebuild without the alias`,
  );
};
