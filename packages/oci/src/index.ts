export { type Descriptor, type Image, type ImageConfig, image, MEDIA, writeLayout } from './image.ts';
export { type DirOptions, dirEntries, type Entry, type Layer, layer, sha256 } from './layer.ts';
export { push, type Registry, RegistryError } from './push.ts';
