export {
  type AppendConfig,
  type Appended,
  type AppendOptions,
  append,
  appendConfig,
  appendManifest,
} from './append.ts';
export { type Descriptor, type Image, type ImageConfig, image, MEDIA, writeLayout } from './image.ts';
export { type DirOptions, dirEntries, type Entry, type Layer, layer, sha256 } from './layer.ts';
export { type Published, type PublishOptions, publish } from './publish.ts';
export { push } from './push.ts';
export { type Artifact, artifactManifest, attach, EMPTY_CONFIG, subjectOf } from './referrers.ts';
export {
  type Credentials,
  credentialsFromDockerConfig,
  MANIFEST_TYPES,
  type Manifest,
  type Platform,
  parseRef,
  type Registry,
  RegistryClient,
  RegistryError,
  referrersTag,
} from './registry.ts';
export {
  type Component,
  fromGoList,
  fromMavenDependencyList,
  fromPackageLock,
  fromRequirements,
  normalisePython,
  purl,
  SbomParseError,
  SPDX_MEDIA_TYPE,
  type SpdxOptions,
  spdx,
} from './sbom.ts';
export {
  COSIGN,
  pae,
  publicKeyPem,
  SignatureError,
  type SignatureFormat,
  type Signed,
  type SignOptions,
  sign,
  signatureBundle,
  signatureTag,
  signingKey,
  signPayload,
  signStatement,
  simpleSigningPayload,
  type Verified,
  verify,
  verifyBundle,
  verifySimpleSigning,
} from './sign.ts';
