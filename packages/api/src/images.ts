// Plinth's images: the one list of their names, the version they are tagged with, and the
// registry they are published to by default. The image builder (images/build.ts), the
// operator's rendered Deployments, `plinth up`/`render` and the chart all read these.

export const PLINTH_VERSION = '0.1.0';
/** Where published images live; override with a registry of your own (see README). */
export const DEFAULT_REGISTRY = 'ghcr.io/plinth-dev';

/** Every image Plinth ships, with what it runs. */
export const PLINTH_IMAGES = {
  operator: 'the operator (apps/operator)',
  gateway: 'the function gateway (apps/gateway)',
  connector: 'the Kafka trigger connector (apps/connector)',
  graphql: 'the permissioned GraphQL server (apps/graphql)',
  'runtime-node': 'the Node.js function runtime (runtimes/node)',
  'runtime-python': 'the Python function runtime (runtimes/python)',
  'runtime-go': 'the Go function runtime: runs the binary its builder made',
  'runtime-java': 'the Java function runtime: a JRE started on the jars its builder made',
  'builder-go': 'compiles a Go function with the runtime main (init container)',
  'builder-java': 'compiles a Java function against the runtime and trains its AppCDS archive (init container)',
} as const;
export type PlinthImage = keyof typeof PLINTH_IMAGES;

/** Registry and tag images are pulled from. */
export interface ImageSource {
  registry: string;
  tag: string;
}
export const DEFAULT_IMAGES: ImageSource = { registry: DEFAULT_REGISTRY, tag: PLINTH_VERSION };

/** `registry/name:tag`. */
export const imageRef = (source: ImageSource, name: PlinthImage | string): string =>
  `${source.registry.replace(/\/$/, '')}/${name}:${source.tag}`;
