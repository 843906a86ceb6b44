// How a run is shown: one line per check (`PASS|FAIL|SKIP  <category> >
// <check>  (<ms>)`, the message indented under it), the closing plain line
// `N passed, N failed, N skipped`, a JSON document and JUnit XML for CI.
import { printable } from "../host/printable-text.js";
import { checkId, type CheckResult } from "./check.js";
import type { ConformanceReport } from "./runner.js";

export function formatResult(result: CheckResult): string {
  const head = `${result.status}  ${checkId(result)}  (${result.ms} ms)`;
  if (result.message === undefined || result.message === "") return head;
  // The message may quote the plugin (a status message, its stderr): one line, nothing that drives a terminal.
  return `${head}\n      ${printable(result.message.replace(/[\r\n]+/g, " "))}`;
}

export function formatSummary(report: Pick<ConformanceReport, "passed" | "failed" | "skipped">): string {
  return `${report.passed} passed, ${report.failed} failed, ${report.skipped} skipped`;
}

function xml(text: string): string {
  return text
    .replace(/[^\x09\x0a\x0d\x20-\ud7ff\ue000-\ufffd]/gu, "")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;");
}

/** JUnit XML: one testsuite per category, one testcase per check. */
export function toJUnit(report: ConformanceReport): string {
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="driverplug conformance: ${xml(report.driver)}" tests="${report.results.length}" failures="${report.failed}" skipped="${report.skipped}" time="${(report.ms / 1000).toFixed(3)}">`,
  ];
  const categories = [...new Set(report.results.map((r) => r.category))];
  for (const category of categories) {
    const results = report.results.filter((r) => r.category === category);
    const failures = results.filter((r) => r.status === "FAIL").length;
    const skipped = results.filter((r) => r.status === "SKIP").length;
    const time = results.reduce((sum, r) => sum + r.ms, 0) / 1000;
    lines.push(
      `  <testsuite name="${xml(category)}" tests="${results.length}" failures="${failures}" skipped="${skipped}" time="${time.toFixed(3)}">`,
    );
    for (const r of results) {
      const open = `    <testcase classname="${xml(`conformance.${category}`)}" name="${xml(r.name)}" time="${(r.ms / 1000).toFixed(3)}"`;
      if (r.status === "PASS") lines.push(`${open}/>`);
      else if (r.status === "SKIP") lines.push(`${open}><skipped message="${xml(r.message ?? "")}"/></testcase>`);
      else lines.push(`${open}><failure message="${xml(r.message ?? "")}"/></testcase>`);
    }
    lines.push("  </testsuite>");
  }
  lines.push("</testsuites>");
  return `${lines.join("\n")}\n`;
}
