// What counts as a function's dependencies, per runtime, and what is refused before any tool
// runs (the installs themselves, with the real tools, are in apps/cli/test/dev-deps.test.ts).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkRequirements, DependencyError, declaredDependencies } from '@plinth/faas';

const refused = (fn: () => unknown, message: RegExp) =>
  assert.throws(fn, (e: Error) => {
    assert.ok(e instanceof DependencyError, e.message);
    assert.match(e.message, message);
    return true;
  });

describe('requirements.txt', () => {
  it('takes pinned requirements, with extras, markers, hashes and comments', () => {
    checkRequirements(`# pinned by pip-compile
python-slugify==8.0.4  # slugs
text_unidecode==1.3
requests[socks]==2.32.3 ; python_version >= "3.8"
certifi===2024.8.30
idna==3.10 \\
    --hash=sha256:946d195a0d259cbba61165e88e65941f16e9b36ea6ddb97f00452bae8b1287d3
`);
  });

  it('refuses what could install something else tomorrow, naming the line and the fix', () => {
    refused(
      () => checkRequirements('python-slugify==8.0.4\nrequests>=2\n'),
      /requirements\.txt line 2: "requests>=2" is not pinned: write it as requests==<version>/,
    );
    refused(() => checkRequirements('\n\nflask\n'), /line 3: "flask" is not pinned/);
    refused(() => checkRequirements('django==5.*\n'), /line 1: "django==5\.\*" is not pinned/);
    refused(() => checkRequirements('-r base.txt\n'), /line 1: "-r" is not supported: list pinned requirements only/);
    refused(() => checkRequirements('--index-url x\n'), /"--index-url" is not supported/);
  });
});

describe('declared dependencies', () => {
  const lock = JSON.stringify({ name: 'f', lockfileVersion: 3, packages: {} });

  it('node: a package.json with dependencies and its lockfile, installed by npm ci', () => {
    const pj = JSON.stringify({ type: 'module', dependencies: { slugify: '^1.6.9' } });
    assert.deepEqual(declaredDependencies('node', { 'package.json': pj, 'package-lock.json': lock, 'h.mjs': '' }), {
      runtime: 'node',
      tool: 'npm ci',
      files: { 'package.json': pj, 'package-lock.json': lock },
    });
    assert.equal(declaredDependencies('node', { 'package.json': '{"type":"module"}' }), undefined);
    assert.equal(
      declaredDependencies('node', { 'package.json': JSON.stringify({ devDependencies: { typescript: '5' } }) }),
      undefined,
      'dev dependencies are not installed to run a function',
    );
    refused(
      () => declaredDependencies('node', { 'package.json': pj }),
      /package\.json declares dependencies but there is no package-lock\.json beside it: run `npm install`/,
    );
    refused(() => declaredDependencies('node', { 'package.json': '{' }), /package\.json is not valid JSON/);
  });

  it('python, java, go: requirements.txt, pom.xml, a go.mod that requires modules', () => {
    assert.equal(declaredDependencies('python', { 'requirements.txt': '# nothing yet\n' }), undefined);
    assert.equal(declaredDependencies('python', { 'requirements.txt': 'six==1.16.0\n' })?.tool, 'pip install');
    refused(() => declaredDependencies('python', { 'requirements.txt': 'six\n' }), /"six" is not pinned/);
    assert.equal(declaredDependencies('java', { 'pom.xml': '<project/>' })?.tool, 'mvn dependency:copy-dependencies');
    assert.equal(declaredDependencies('java', { 'Handler.java': '' }), undefined);
    assert.equal(declaredDependencies('go', { 'go.mod': 'module a\n\ngo 1.24\n' }), undefined);
    assert.deepEqual(
      declaredDependencies('go', { 'go.mod': 'module a\n\nrequire golang.org/x/text v0.34.0\n', 'go.sum': 's' })?.files,
      { 'go.mod': 'module a\n\nrequire golang.org/x/text v0.34.0\n', 'go.sum': 's' },
    );
  });
});
