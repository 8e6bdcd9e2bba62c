// The SBOM's pure parts: each lockfile parser on a realistic file, purls as purl-spec writes
// them, and the SPDX 2.3 document's shape and determinism.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  fromGoList,
  fromMavenDependencyList,
  fromPackageLock,
  fromRequirements,
  purl,
  SbomParseError,
  spdx,
} from '../src/index.ts';

const LOCK = JSON.stringify({
  name: 'fn',
  version: '1.0.0',
  lockfileVersion: 3,
  requires: true,
  packages: {
    '': { name: 'fn', version: '1.0.0', dependencies: { slugify: '^1.6.6', '@scope/util': '2.0.0' } },
    'node_modules/slugify': {
      version: '1.6.6',
      resolved: 'https://example.invalid/slugify-1.6.6.tgz',
      integrity: 'sha512-h+z7HKHYXj6wJU+AnS/+IH8Uh9fdcX1Lrhg1/VMdf9PwoBQXFcXiAdsy2tSK0P6gKwJLXp02r5uAqoXWtpr8Kw==',
      license: 'MIT',
    },
    'node_modules/@scope/util': { version: '2.0.0', license: 'Apache-2.0' },
    'node_modules/@scope/util/node_modules/slugify': { version: '1.0.0' },
    'node_modules/typescript': { version: '5.9.3', dev: true },
    'node_modules/alias': { name: 'real-name', version: '3.1.0' },
    'node_modules/@plinth/local': { resolved: 'packages/local', link: true },
    'packages/local': { name: '@plinth/local', version: '0.1.0' },
  },
});

describe('fromPackageLock', () => {
  it('lists installed packages with purls, checksums and licenses, leaving out the root, links and dev', () => {
    const c = fromPackageLock(LOCK);
    assert.deepEqual(
      c.map((x) => x.purl),
      ['pkg:npm/%40scope/util@2.0.0', 'pkg:npm/real-name@3.1.0', 'pkg:npm/slugify@1.0.0', 'pkg:npm/slugify@1.6.6'],
    );
    const slugify = c.find((x) => x.version === '1.6.6');
    assert.equal(slugify?.license, 'MIT');
    assert.equal(
      slugify?.checksums?.SHA512,
      '87ecfb1ca1d85e3eb0254f809d2ffe207f1487d7dd717d4bae1835fd531d7fd3f0a0141715c5e201db32dad48ad0fea02b024b5e9d36af9b80aa85d6b69afc2b',
    );
  });
  it('takes dev packages when asked', () => {
    assert.ok(fromPackageLock(LOCK, { dev: true }).some((x) => x.name === 'typescript'));
  });
  it('refuses a v1 lockfile, which has no packages map', () => {
    assert.throws(() => fromPackageLock(JSON.stringify({ lockfileVersion: 1, dependencies: {} })), SbomParseError);
  });
});

describe('fromRequirements', () => {
  it('reads pins with extras, markers, hashes, continuations and comments', () => {
    const c = fromRequirements(
      [
        '# the function',
        '--index-url https://example.invalid/simple',
        'python-slugify==8.0.4 \\',
        '    --hash=sha256:276540b79961052b66b7d116620b36518847f52d5fd9e3a70164fc8c50faa6b8',
        'Text_Unidecode==1.3  # via python-slugify',
        'requests[socks]==2.32.3 ; python_version >= "3.8"',
        '',
      ].join('\n'),
    );
    assert.deepEqual(
      c.map((x) => x.purl),
      ['pkg:pypi/python-slugify@8.0.4', 'pkg:pypi/requests@2.32.3', 'pkg:pypi/text-unidecode@1.3'],
    );
    assert.equal(c[0]?.checksums?.SHA256, '276540b79961052b66b7d116620b36518847f52d5fd9e3a70164fc8c50faa6b8');
  });
  it('refuses an unpinned requirement or an include, naming the line', () => {
    assert.throws(
      () => fromRequirements('flask==3.0.0\nrequests>=2\n'),
      /requirements\.txt:2: "requests>=2" is not pinned/,
    );
    assert.throws(() => fromRequirements('-r other.txt\n'), /requirements\.txt:1: "-r other.txt" is not supported/);
    assert.throws(() => fromRequirements('django==4.*\n'), /not pinned/);
  });
});

describe('fromGoList and fromMavenDependencyList', () => {
  it('reads `go list -m all`, following replacements and leaving out the main module and directories', () => {
    const c = fromGoList(
      [
        'example.com/fn',
        'github.com/google/uuid v1.6.0',
        'golang.org/x/text v0.14.0 => golang.org/x/text v0.15.0',
        'example.com/local v0.0.0 => ../local',
      ].join('\n'),
    );
    assert.deepEqual(
      c.map((x) => x.purl),
      ['pkg:golang/github.com/google/uuid@v1.6.0', 'pkg:golang/golang.org/x/text@v0.15.0'],
    );
  });
  it('reads `mvn dependency:list` output, without test scope unless asked', () => {
    const out = [
      '[INFO] The following files have been resolved:',
      '[INFO]    com.fasterxml.jackson.core:jackson-databind:jar:2.17.2:compile -- module com.fasterxml.jackson.databind',
      '[INFO]    com.fasterxml.jackson.core:jackson-core:jar:2.17.2:compile',
      '[INFO]    io.netty:netty-transport-native-epoll:jar:linux-x86_64:4.1.100.Final:runtime',
      '[INFO]    org.junit.jupiter:junit-jupiter-api:jar:5.10.2:test',
      '[INFO] BUILD SUCCESS',
    ].join('\n');
    assert.deepEqual(
      fromMavenDependencyList(out).map((x) => x.purl),
      [
        'pkg:maven/com.fasterxml.jackson.core/jackson-core@2.17.2',
        'pkg:maven/com.fasterxml.jackson.core/jackson-databind@2.17.2',
        'pkg:maven/io.netty/netty-transport-native-epoll@4.1.100.Final?classifier=linux-x86_64',
      ],
    );
    assert.equal(fromMavenDependencyList(out, { test: true }).length, 4);
  });
  it('writes purls as purl-spec does', () => {
    assert.equal(purl.npm('@types/node', '24.0.0'), 'pkg:npm/%40types/node@24.0.0');
    assert.equal(purl.pypi('Django_REST.framework', '3.15'), 'pkg:pypi/django-rest-framework@3.15');
    assert.equal(purl.maven('g', 'a', '1', 'pom'), 'pkg:maven/g/a@1?type=pom');
  });
});

describe('spdx', () => {
  const components = fromPackageLock(LOCK);
  const image = { digest: `sha256:${'a'.repeat(64)}`, repository: '127.0.0.1:5000/fns/hello' };

  it('writes an SPDX 2.3 document: the image CONTAINS each component, with its purl and checksum', () => {
    const doc = JSON.parse(spdx({ name: 'hello', image, components }).toString());
    assert.equal(doc.spdxVersion, 'SPDX-2.3');
    assert.equal(doc.dataLicense, 'CC0-1.0');
    assert.equal(doc.SPDXID, 'SPDXRef-DOCUMENT');
    assert.match(doc.documentNamespace, /^https:\/\/spdx\.plinth\.dev\/hello-[0-9a-f]{64}$/);
    assert.equal(doc.creationInfo.created, '1970-01-01T00:00:00Z');
    assert.equal(doc.packages.length, components.length + 1);
    const [root, first] = doc.packages;
    assert.equal(root.primaryPackagePurpose, 'CONTAINER');
    assert.equal(root.versionInfo, image.digest);
    assert.equal(
      root.externalRefs[0].referenceLocator,
      `pkg:oci/hello@sha256%3A${'a'.repeat(64)}?repository_url=127.0.0.1%3A5000%2Ffns%2Fhello`,
    );
    assert.equal(first.externalRefs[0].referenceType, 'purl');
    for (const p of doc.packages) assert.match(p.SPDXID, /^SPDXRef-[A-Za-z0-9.-]+$/);
    assert.equal(new Set(doc.packages.map((p: { SPDXID: string }) => p.SPDXID)).size, doc.packages.length);
    assert.deepEqual(doc.relationships[0], {
      spdxElementId: 'SPDXRef-DOCUMENT',
      relationshipType: 'DESCRIBES',
      relatedSpdxElement: 'SPDXRef-Root',
    });
    assert.equal(
      doc.relationships.filter((r: { relationshipType: string }) => r.relationshipType === 'CONTAINS').length,
      components.length,
    );
    const slugify = doc.packages.find((p: { versionInfo: string }) => p.versionInfo === '1.6.6');
    assert.deepEqual(slugify.checksums[0].algorithm, 'SHA512');
    assert.equal(slugify.licenseDeclared, 'MIT');
  });
  it('is deterministic, whatever the order of the components', () => {
    const a = spdx({ name: 'hello', image, components });
    const b = spdx({ name: 'hello', image, components: [...components].reverse() });
    assert.deepEqual(a, b);
    assert.notDeepEqual(a, spdx({ name: 'hello', image, components: components.slice(1) }));
  });
});
