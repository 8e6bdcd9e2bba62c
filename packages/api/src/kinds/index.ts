import { Sample } from './sample.ts';

/** Every kind Plinth defines; the CRD generator renders one file per entry. */
export const kinds = [Sample] as const;
export { Sample };
