// A Plinth function: gets a web Request, returns a Response, a string, or anything JSON. Its
// dependency, slugify, is declared in package.json and pinned by package-lock.json.
import slugify from 'slugify';

export default async function handler(req: Request) {
  const name = new URL(req.url).searchParams.get('name') ?? 'world';
  return { function: '__NAME__', runtime: 'node', message: `Hello, ${name}`, slug: slugify(name, { lower: true }) };
}
