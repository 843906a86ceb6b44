// Prints vitest's JSON report as the plain closing line CI reads:
// "tests: N passed, N failed, N skipped".
import { readFileSync } from "node:fs";

const path = process.argv[2] ?? "dist/test-report.json";
let report;
try {
  report = JSON.parse(readFileSync(path, "utf8"));
} catch (err) {
  console.error(`no test report at ${path}: ${err.message}`);
  process.exit(1);
}
const skipped = report.numPendingTests + report.numTodoTests;
console.log(`tests: ${report.numPassedTests} passed, ${report.numFailedTests} failed, ${skipped} skipped`);
