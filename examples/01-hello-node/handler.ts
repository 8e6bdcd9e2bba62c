// GET /fn/default/hello-node?name=Ada -> {"message":"Hello, Ada","slug":"ada","runtime":"node"}
// Its dependency, slugify, is declared in package.json and pinned by package-lock.json.
import slugify from 'slugify';

export default async function handler(req: Request) {
  if (req.method === 'POST') {
    let body: unknown;
    try {
      body = await req.json();
    } catch (e) {
      return Response.json({ error: `the request body is not valid JSON: ${(e as Error).message}` }, { status: 400 });
    }
    return { echo: body, runtime: 'node' };
  }
  const name = new URL(req.url).searchParams.get('name') ?? 'world';
  return {
    message: `${process.env.GREETING ?? 'Hello'}, ${name}`,
    slug: slugify(name, { lower: true, strict: true }),
    runtime: 'node',
  };
}
