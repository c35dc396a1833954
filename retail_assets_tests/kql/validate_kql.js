'use strict';
// Validates KQL files with Microsoft's Kusto parser (npm @kusto/language-service-next).
//
// Usage: node validate_kql.js <manifest.json>   (prints one JSON document on stdout)
//
// The manifest names the database's event tables with their columns (rendered from the spec
// registry) and the files to check, with their text. A file with "declare": false is checked,
// but the functions and views it creates are not added to the database (negative samples must
// not shadow the real objects).
//
// What is checked:
// - Every file is split into the blocks an editor runs (blank lines separate them) and every
//   block is parsed: syntax errors of commands and queries.
// - `.execute database script ... <|` opening a block is checked once on its own; the command
//   that follows it is then checked like any other block (the parser is ~5x slower on commands
//   nested in a script, and what it checks is the same).
// - Semantic analysis of every query, and of the body of every function and every materialized
//   view the files create, against a database holding the tables, those functions (with their
//   parameters) and those views (with the columns their query yields): an unknown table, column
//   or function is an error.
// - Commands are not analyzed (slow, and the parser binds only their embedded queries); instead
//   every table, view or function a command names must exist in that database (code KQLNAME).
//
// The output has, per file, its blocks and diagnostics (line and column 1-based), the functions
// and views found, and for each view and query file its shape: the source of the last pipeline,
// its operators (named expressions of extend/summarize) and its result columns.
// Exit code 0 when the parser ran (whatever it found), 2 when it could not run.

const fs = require('fs');
const path = require('path');

function fail(message) {
  process.stdout.write(JSON.stringify({ fatal: message }) + '\n');
  process.exit(2);
}

function loadKusto() {
  const pkg = '@kusto/language-service-next';
  let pkgJson;
  try {
    pkgJson = require.resolve(`${pkg}/package.json`, { paths: [__dirname, process.cwd()] });
  } catch (e) {
    fail(`${pkg} is not installed (run \`npm ci\` at the repository root): ${e.message}`);
  }
  const dir = path.dirname(pkgJson);
  require(path.join(dir, 'bridge.js'));
  require(path.join(dir, 'Kusto.Language.Bridge.js'));
  return { K: global.Kusto.Language, version: JSON.parse(fs.readFileSync(pkgJson, 'utf8')).version };
}

const started = Date.now();
const manifestPath = process.argv[2];
if (!manifestPath) fail('usage: node validate_kql.js <manifest.json>');
const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
const { K, version } = loadKusto();
const S = K.Symbols;
const Syn = K.Syntax;
const minimal = Syn.IncludeTrivia.Minimal;
const SCRIPT = /^\.execute\s+database\s+script\b[^\n]*<\|[ \t]*\n/;

function listOf(netList) {
  const out = [];
  if (!netList) return out;
  for (let i = 0; i < netList.Count; i++) out.push(netList.getItem(i));
  return out;
}

function typeName(node) {
  return node.constructor.$$name.replace('Kusto.Language.Syntax.', '');
}

function textOf(node) {
  return node.ToString(minimal).trim();
}

function scalar(name) {
  const symbol = S.ScalarTypes.GetSymbol(name);
  if (!symbol) fail(`unknown KQL type ${name}`);
  return symbol;
}

function columnsOf(resultType) {
  if (!resultType || !resultType.Columns) return [];
  return listOf(resultType.Columns).map((c) => [c.Name, c.Type.Name]);
}

// ---- split every file into blocks, parse them ---------------------------------------------------
const tables = manifest.tables.map(
  (t) => new S.TableSymbol.$ctor4(t.name, t.columns.map(([name, type]) => new S.ColumnSymbol(name, scalar(type))))
);
const baseGlobals = K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.$ctor1(manifest.database, tables, false));
const loaded = Date.now();

function leadingComments(text) {
  const match = text.match(/^(?:[ \t]*(?:\/\/[^\n]*)?\n)*/);
  return match ? match[0].length : 0;
}

const scriptHeaders = new Map(); // header text -> diagnostics of parsing it around a trivial command
const files = manifest.files.map((file) => {
  const blocks = [];
  for (const b of listOf(K.Editor.CodeScript.From$1(file.text, baseGlobals).Blocks)) {
    if (b.Text.trim() === '') continue;
    let start = b.Start;
    let text = b.Text;
    const at = leadingComments(text);
    const header = text.slice(at).match(SCRIPT);
    if (header) {
      const line = header[0].trim();
      if (!scriptHeaders.has(line)) {
        const code = K.KustoCode.Parse(`${line}\n.show version`, baseGlobals);
        scriptHeaders.set(line, listOf(code.GetSyntaxDiagnostics()));
      }
      blocks.push({ start: start + at, text: line, header: line });
      start += at + header[0].length;
      text = text.slice(at + header[0].length);
    }
    blocks.push({ start, text, code: K.KustoCode.Parse(text, baseGlobals) });
  }
  return { name: file.name, text: file.text, declare: file.declare !== false, blocks };
});
const parsed = Date.now();

// ---- collect the functions and views the files create -------------------------------------------
function commandsOf(code) {
  return listOf(code.Syntax.GetDescendantsOrSelf(Syn.CustomCommand));
}

function verbOf(command) {
  return textOf(command).split(/\s+/).slice(0, 2).join(' ');
}

// Children of `parent` of one syntax type (GetDescendants, kept to direct children).
function childrenOf(parent, type) {
  return listOf(parent.GetDescendants(type)).filter((n) => n.Parent === parent);
}

const functions = {};
const views = {};
const bodies = new Set(); // query bodies inside commands (analyzed separately, skipped by the name check)
for (const file of files) {
  for (const block of file.blocks.filter((b) => b.code)) {
    for (const command of commandsOf(block.code)) {
      const verb = verbOf(command);
      if (/^\.create(-or-alter)? function$/.test(verb)) {
        const declaration = command.GetFirstDescendant(Syn.FunctionDeclaration);
        if (!declaration) continue;
        bodies.add(declaration.Body);
        const name = childrenOf(declaration.Parent, Syn.NameDeclaration).map(textOf).pop();
        if (!name || !file.declare) continue;
        functions[name] = {
          file: file.name,
          parameters: textOf(declaration.Parameters),
          body: block.text.slice(declaration.Body.TextStart, declaration.Body.End),
          node: declaration,
          block,
        };
      } else if (/^\.create(-or-alter)? materialized-view$/.test(verb)) {
        const body = command.GetFirstDescendant(Syn.FunctionBody);
        if (!body) continue;
        bodies.add(body);
        // `<name> on table <source> { <query> }`: name and source are siblings of the body.
        const name = childrenOf(body.Parent, Syn.NameDeclaration).map(textOf).pop();
        const source = childrenOf(body.Parent, Syn.NameReference).map(textOf).pop() || null;
        if (!name || !file.declare) continue;
        const query = block.text.slice(body.Expression.TextStart, body.Expression.End).trim();
        views[name] = { file: file.name, source, query, node: body, block };
      }
    }
  }
}

// ---- the database: tables, views (columns from analyzing their query), functions ----------------
for (const view of Object.values(views)) {
  view.code = K.KustoCode.ParseAndAnalyze(view.query, baseGlobals);
  view.columns = columnsOf(view.code.ResultType);
}
const viewSymbols = Object.entries(views).map(([name, view]) => {
  const schema = '(' + view.columns.map(([n, t]) => `['${n}']: ${t}`).join(', ') + ')';
  return new S.MaterializedViewSymbol.$ctor3(name, schema, view.query, null);
});
const functionSymbols = Object.entries(functions).map(
  ([name, fn]) => new S.FunctionSymbol.$ctor16(name, fn.parameters, fn.body, null)
);
const database = new S.DatabaseSymbol.$ctor1(manifest.database, [...tables, ...viewSymbols, ...functionSymbols], false);
const globals = K.GlobalState.Default.WithDatabase(database);
const known = new Set([...manifest.tables.map((t) => t.name), ...Object.keys(views), ...Object.keys(functions)]);

// ---- diagnostics ---------------------------------------------------------------------------------
function position(file, offset) {
  const before = file.text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

function report(file, offset, d) {
  return { severity: String(d.Severity), code: d.Code, message: d.Message, ...position(file, offset) };
}

// The body `{ let a = ...; expr }` of a function or view, analyzed as a query with the function's
// parameters declared. Returns the analyzed code and the offset in the block of its first character.
function analyzeBody(block, body, parameters) {
  const declare = parameters && parameters !== '()' ? `declare query_parameters${parameters};\n` : '';
  const raw = block.text.slice(body.TextStart, body.End);
  const open = raw.indexOf('{');
  const text = declare + raw.slice(open + 1, raw.lastIndexOf('}'));
  return { code: K.KustoCode.ParseAndAnalyze(text, globals), shift: body.TextStart + open + 1 - declare.length };
}

function pipeShape(expression) {
  // A pipeline is left-nested: ((source | op1) | op2) | op3.
  const operators = [];
  let node = expression;
  while (node && typeName(node) === 'PipeExpression') {
    operators.unshift(node.Operator);
    node = node.Expression;
  }
  const named = (list) =>
    listOf(list).map((element) => {
      const e = element.Element;
      return typeName(e) === 'SimpleNamedExpression'
        ? { name: textOf(e.Name), expression: textOf(e.Expression) }
        : { name: null, expression: textOf(e) };
    });
  return {
    source: node ? textOf(node) : null,
    operators: operators.map((op) => {
      const kind = typeName(op);
      const shape = { kind, text: textOf(op) };
      if (kind === 'ExtendOperator') shape.items = named(op.Expressions);
      if (kind === 'SummarizeOperator') {
        shape.items = named(op.Aggregates);
        shape.by = op.ByClause ? named(op.ByClause.Expressions) : [];
      }
      return shape;
    }),
  };
}

function lastExpression(code) {
  const statements = listOf(code.Syntax.GetDescendants(Syn.ExpressionStatement));
  return statements.length ? statements[statements.length - 1].Expression : null;
}

const output = { parser: { package: '@kusto/language-service-next', version }, files: {}, functions: {}, views: {}, shapes: {} };
const counts = { files: files.length, commands: 0, queries: 0, functions: 0, views: 0 };
for (const file of files) {
  const result = { blocks: [], diagnostics: [] };
  for (const block of file.blocks) {
    const line = position(file, block.start).line;
    if (block.header) {
      result.blocks.push({ kind: 'Script', line });
      for (const d of scriptHeaders.get(block.header)) {
        // Only errors within the header line belong to it (the trivial command after it is ours).
        if (d.Start < block.header.length) result.diagnostics.push(report(file, block.start + d.Start, d));
      }
      continue;
    }
    const code = block.code;
    result.blocks.push({ kind: code.Kind, line });
    if (code.Kind === 'Query') {
      counts.queries += 1;
      const analyzed = code.Analyze(globals);
      for (const d of listOf(analyzed.GetDiagnostics())) result.diagnostics.push(report(file, block.start + d.Start, d));
      output.shapes[file.name] = { ...pipeShape(lastExpression(analyzed)), columns: columnsOf(analyzed.ResultType) };
      continue;
    }
    counts.commands += 1;
    for (const d of listOf(code.GetSyntaxDiagnostics())) result.diagnostics.push(report(file, block.start + d.Start, d));
    for (const command of commandsOf(code)) {
      // Names a command refers to outside its query body: tables, views, functions.
      for (const ref of listOf(command.GetDescendants(Syn.NameReference))) {
        let inBody = false;
        for (let p = ref.Parent; p; p = p.Parent) if (bodies.has(p)) inBody = true;
        if (inBody || known.has(textOf(ref))) continue;
        result.diagnostics.push({
          severity: 'Error',
          code: 'KQLNAME',
          message: `The name '${textOf(ref)}' is not a table, materialized view or function of the database.`,
          ...position(file, block.start + ref.TextStart),
        });
      }
    }
    for (const fn of Object.values(functions).filter((f) => f.block === block)) {
      counts.functions += 1;
      const { code: analyzed, shift } = analyzeBody(block, fn.node.Body, fn.parameters);
      for (const d of listOf(analyzed.GetDiagnostics())) result.diagnostics.push(report(file, block.start + shift + d.Start, d));
    }
    for (const [name, view] of Object.entries(views).filter(([, v]) => v.block === block)) {
      counts.views += 1;
      const { code: analyzed, shift } = analyzeBody(block, view.node, '');
      for (const d of listOf(analyzed.GetDiagnostics())) result.diagnostics.push(report(file, block.start + shift + d.Start, d));
      output.views[name] = { file: file.name, source: view.source, query: view.query, columns: view.columns };
      output.shapes[`view:${name}`] = { ...pipeShape(lastExpression(analyzed)), columns: view.columns };
    }
  }
  output.files[file.name] = result;
}
// Functions and views of negative samples are not declared, but their bodies are analyzed all the same.
for (const file of files.filter((f) => !f.declare)) {
  for (const block of file.blocks.filter((b) => b.code && b.code.Kind !== 'Query')) {
    for (const command of commandsOf(block.code)) {
      const verb = verbOf(command);
      const declaration = /function$/.test(verb) ? command.GetFirstDescendant(Syn.FunctionDeclaration) : null;
      const body = declaration ? declaration.Body : /materialized-view$/.test(verb) ? command.GetFirstDescendant(Syn.FunctionBody) : null;
      if (!body) continue;
      const { code: analyzed, shift } = analyzeBody(block, body, declaration ? textOf(declaration.Parameters) : '');
      for (const d of listOf(analyzed.GetDiagnostics())) {
        output.files[file.name].diagnostics.push(report(file, block.start + shift + d.Start, d));
      }
    }
  }
}
for (const [name, fn] of Object.entries(functions)) output.functions[name] = { file: fn.file, parameters: fn.parameters, body: fn.body };
output.counts = counts;
output.timings_ms = { load: loaded - started, parse: parsed - loaded, analyze: Date.now() - parsed, total: Date.now() - started };
process.stdout.write(JSON.stringify(output) + '\n');
