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
// - `.execute database script ... <|` opening a block is parsed once on its own (around a trivial
//   command); the command after it is then parsed like any other block. The parser is ~5x slower
//   on commands nested in a script, and what it checks is the same.
// - Semantic analysis of every query, and of the body of every function and materialized view
//   the files create, against a database holding the tables, those functions (with their
//   parameters) and those views (with the columns their query yields): an unknown table, column
//   or function is an error.
// - Commands are not analyzed as a whole (slow, and the parser binds only their embedded
//   queries); instead every table, view or function a command names must exist (code KQLNAME).
//
// Parsing a command costs ~0.2 s after a ~4 s warm-up, so commands are parsed by up to two worker
// threads (each loads the parser once); queries and all analysis run on the main thread. Still one
// node process.
//
// The output has, per file, its blocks and diagnostics (line and column 1-based), the functions
// and views found, and for each view and query file its shape: the source of the last pipeline,
// its operators (named expressions of extend/summarize) and its result columns.
// Exit code 0 when the parser ran (whatever it found), 2 when it could not run.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads');

const SCRIPT = /^\.execute\s+database\s+script\b[^\n]*<\|[ \t]*\n/;
const WORKERS = Math.max(1, Math.min(2, os.cpus().length));

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

function listOf(netList) {
  const out = [];
  if (!netList) return out;
  for (let i = 0; i < netList.Count; i++) out.push(netList.getItem(i));
  return out;
}

function typeName(node) {
  return node.constructor.$$name.replace('Kusto.Language.Syntax.', '');
}

// ---- command parsing: plain data out, so it can run in a worker ---------------------------------
function parseCommand(K, text) {
  const Syn = K.Syntax;
  const textOf = (node) => node.ToString(Syn.IncludeTrivia.Minimal).trim();
  // Direct children of `parent` of one syntax type.
  const childrenOf = (parent, type) => listOf(parent.GetDescendants(type)).filter((n) => n.Parent === parent);
  const code = K.KustoCode.Parse(text, K.GlobalState.Default);
  const result = {
    kind: code.Kind,
    syntax: listOf(code.GetSyntaxDiagnostics()).map((d) => ({
      severity: String(d.Severity), code: d.Code, message: d.Message, start: d.Start,
    })),
    functions: [],
    views: [],
    refs: [],
  };
  const bodies = [];
  for (const command of listOf(code.Syntax.GetDescendantsOrSelf(Syn.CustomCommand))) {
    const verb = textOf(command).split(/\s+/).slice(0, 2).join(' ');
    if (/^\.create(-or-alter)? function$/.test(verb)) {
      const declaration = command.GetFirstDescendant(Syn.FunctionDeclaration);
      if (!declaration) continue;
      bodies.push(declaration.Body);
      result.functions.push({
        name: childrenOf(declaration.Parent, Syn.NameDeclaration).map(textOf).pop() || null,
        parameters: textOf(declaration.Parameters),
        body: [declaration.Body.TextStart, declaration.Body.End],
      });
    } else if (/^\.create(-or-alter)? materialized-view$/.test(verb)) {
      const body = command.GetFirstDescendant(Syn.FunctionBody);
      if (!body) continue;
      bodies.push(body);
      // `<name> on table <source> { <query> }`: name and source are siblings of the body.
      result.views.push({
        name: childrenOf(body.Parent, Syn.NameDeclaration).map(textOf).pop() || null,
        source: childrenOf(body.Parent, Syn.NameReference).map(textOf).pop() || null,
        body: [body.TextStart, body.End],
        query: [body.Expression.TextStart, body.Expression.End],
      });
    }
  }
  for (const ref of listOf(code.Syntax.GetDescendants(Syn.NameReference))) {
    let inBody = false;
    for (let p = ref.Parent; p; p = p.Parent) if (bodies.includes(p)) inBody = true;
    if (!inBody) result.refs.push({ name: textOf(ref), start: ref.TextStart });
  }
  return result;
}

if (!isMainThread) {
  const { K } = loadKusto();
  parentPort.postMessage(workerData.map((text) => parseCommand(K, text)));
  return;
}

function parseInWorkers(texts) {
  const shares = Array.from({ length: WORKERS }, () => []);
  texts.forEach((text, i) => shares[i % WORKERS].push(text));
  return Promise.all(
    shares.map(
      (share) =>
        new Promise((resolve, reject) => {
          if (share.length === 0) return resolve([]);
          const worker = new Worker(__filename, { workerData: share });
          worker.once('message', resolve);
          worker.once('error', reject);
        })
    )
  ).then((results) => texts.map((_, i) => results[i % WORKERS][Math.floor(i / WORKERS)]));
}

// ---- main thread ----------------------------------------------------------------------------------
// Blocks as an editor runs them: text between blank lines.
function blocksOf(text) {
  const blocks = [];
  const re = /\n[ \t]*\n/g;
  let start = 0;
  for (let match = re.exec(text); ; match = re.exec(text)) {
    const end = match ? match.index + 1 : text.length;
    if (text.slice(start, end).trim() !== '') blocks.push({ start, text: text.slice(start, end) });
    if (!match) break;
    start = match.index + match[0].length;
  }
  return blocks;
}

function leadingComments(text) {
  const match = text.match(/^(?:[ \t]*(?:\/\/[^\n]*)?\n)*/);
  return match ? match[0].length : 0;
}

async function main() {
  const started = Date.now();
  const manifestPath = process.argv[2];
  if (!manifestPath) fail('usage: node validate_kql.js <manifest.json>');
  const manifest = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  const { K, version } = loadKusto();
  const S = K.Symbols;
  const Syn = K.Syntax;
  const minimal = Syn.IncludeTrivia.Minimal;
  const textOf = (node) => node.ToString(minimal).trim();
  const scalar = (name) => S.ScalarTypes.GetSymbol(name) || fail(`unknown KQL type ${name}`);
  const columnsOf = (type) => (type && type.Columns ? listOf(type.Columns).map((c) => [c.Name, c.Type.Name]) : []);

  // Split files into blocks; commands go to the workers, script headers too (once per text).
  const files = manifest.files.map((file) => {
    const blocks = [];
    for (const block of blocksOf(file.text)) {
      let { start, text } = block;
      const at = leadingComments(text);
      const header = text.slice(at).match(SCRIPT);
      if (header) {
        blocks.push({ start: start + at, text: header[0].trim(), header: true });
        start += at + header[0].length;
        text = text.slice(at + header[0].length);
      }
      blocks.push({ start, text, kind: K.KustoCode.GetKind(text) });
    }
    return { name: file.name, text: file.text, declare: file.declare !== false, blocks };
  });
  const jobs = [];
  const headerJobs = new Map();
  for (const file of files) {
    for (const block of file.blocks) {
      if (block.header) {
        if (!headerJobs.has(block.text)) headerJobs.set(block.text, jobs.push(`${block.text}\n.show version`) - 1);
        block.job = headerJobs.get(block.text);
      } else if (block.kind !== 'Query') {
        block.job = jobs.push(block.text) - 1;
      }
    }
  }
  const loaded = Date.now();
  const parsedCommands = await parseInWorkers(jobs);
  const parsed = Date.now();

  // The database: tables, views (columns from analyzing their query), functions.
  const tables = manifest.tables.map(
    (t) => new S.TableSymbol.$ctor4(t.name, t.columns.map(([name, type]) => new S.ColumnSymbol(name, scalar(type))))
  );
  const baseGlobals = K.GlobalState.Default.WithDatabase(new S.DatabaseSymbol.$ctor1(manifest.database, tables, false));
  const functions = {};
  const views = {};
  for (const file of files.filter((f) => f.declare)) {
    for (const block of file.blocks.filter((b) => !b.header && b.job !== undefined)) {
      const result = parsedCommands[block.job];
      for (const fn of result.functions.filter((f) => f.name)) {
        functions[fn.name] = { file: file.name, parameters: fn.parameters, body: block.text.slice(...fn.body) };
      }
      for (const view of result.views.filter((v) => v.name)) {
        const query = block.text.slice(...view.query).trim();
        const columns = columnsOf(K.KustoCode.ParseAndAnalyze(query, baseGlobals).ResultType);
        views[view.name] = { file: file.name, source: view.source, query, columns };
      }
    }
  }
  const viewSymbols = Object.entries(views).map(([name, view]) => {
    const schema = '(' + view.columns.map(([n, t]) => `['${n}']: ${t}`).join(', ') + ')';
    return new S.MaterializedViewSymbol.$ctor3(name, schema, view.query, null);
  });
  const functionSymbols = Object.entries(functions).map(
    ([name, fn]) => new S.FunctionSymbol.$ctor16(name, fn.parameters, fn.body, null)
  );
  const globals = K.GlobalState.Default.WithDatabase(
    new S.DatabaseSymbol.$ctor1(manifest.database, [...tables, ...viewSymbols, ...functionSymbols], false)
  );
  const known = new Set([...manifest.tables.map((t) => t.name), ...Object.keys(views), ...Object.keys(functions)]);

  const position = (file, offset) => {
    const before = file.text.slice(0, offset);
    return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
  };
  const report = (file, offset, d) => ({
    severity: String(d.Severity !== undefined ? d.Severity : d.severity),
    code: d.Code || d.code,
    message: d.Message || d.message,
    ...position(file, offset),
  });
  // A body `{ let a = ...; expr }` analyzed as a query with the function's parameters declared;
  // `shift` is the offset in the block of the query text's first character.
  const analyzeBody = (block, [start, end], parameters) => {
    const declare = parameters && parameters !== '()' ? `declare query_parameters${parameters};\n` : '';
    const raw = block.text.slice(start, end);
    const open = raw.indexOf('{');
    const code = K.KustoCode.ParseAndAnalyze(declare + raw.slice(open + 1, raw.lastIndexOf('}')), globals);
    return { code, shift: start + open + 1 - declare.length };
  };
  const pipeShape = (expression) => {
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
  };
  const lastExpression = (code) => {
    const statements = listOf(code.Syntax.GetDescendants(Syn.ExpressionStatement));
    return statements.length ? statements[statements.length - 1].Expression : null;
  };

  const output = { parser: { package: '@kusto/language-service-next', version }, files: {}, functions: {}, views: {}, shapes: {} };
  const counts = { files: files.length, commands: 0, queries: 0, functions: 0, views: 0 };
  for (const file of files) {
    const result = { blocks: [], diagnostics: [] };
    const add = (offset, d) => result.diagnostics.push(report(file, offset, d));
    for (const block of file.blocks) {
      const line = position(file, block.start).line;
      if (block.header) {
        result.blocks.push({ kind: 'Script', line });
        // Only errors within the header belong to it (the trivial command after it is ours).
        for (const d of parsedCommands[block.job].syntax.filter((s) => s.start < block.text.length)) {
          add(block.start + d.start, d);
        }
        continue;
      }
      if (block.kind === 'Query') {
        counts.queries += 1;
        const code = K.KustoCode.ParseAndAnalyze(block.text, globals);
        result.blocks.push({ kind: 'Query', line });
        for (const d of listOf(code.GetDiagnostics())) add(block.start + d.Start, d);
        output.shapes[file.name] = { ...pipeShape(lastExpression(code)), columns: columnsOf(code.ResultType) };
        continue;
      }
      counts.commands += 1;
      const parsedBlock = parsedCommands[block.job];
      result.blocks.push({ kind: parsedBlock.kind, line });
      for (const d of parsedBlock.syntax) add(block.start + d.start, d);
      for (const ref of parsedBlock.refs.filter((r) => !known.has(r.name))) {
        add(block.start + ref.start, {
          severity: 'Error',
          code: 'KQLNAME',
          message: `The name '${ref.name}' is not a table, materialized view or function of the database.`,
        });
      }
      for (const fn of parsedBlock.functions) {
        if (file.declare) counts.functions += 1;
        const { code, shift } = analyzeBody(block, fn.body, fn.parameters);
        for (const d of listOf(code.GetDiagnostics())) add(block.start + shift + d.Start, d);
      }
      for (const view of parsedBlock.views) {
        if (file.declare) counts.views += 1;
        const { code, shift } = analyzeBody(block, view.body, '');
        for (const d of listOf(code.GetDiagnostics())) add(block.start + shift + d.Start, d);
        if (file.declare && view.name) {
          output.views[view.name] = { ...views[view.name] };
          output.shapes[`view:${view.name}`] = { ...pipeShape(lastExpression(code)), columns: views[view.name].columns };
        }
      }
    }
    output.files[file.name] = result;
  }
  for (const [name, fn] of Object.entries(functions)) output.functions[name] = fn;
  output.counts = counts;
  output.timings_ms = { load: loaded - started, parse_commands: parsed - loaded, analyze: Date.now() - parsed, total: Date.now() - started };
  process.stdout.write(JSON.stringify(output) + '\n');
}

main().catch((e) => fail(`validate_kql.js crashed: ${e && e.stack ? e.stack : e}`));
