// GET /fn/default/hello-node?name=Ada -> {"message":"Hello, Ada","runtime":"node"}
export default async function handler(req: Request) {
  const name = new URL(req.url).searchParams.get('name') ?? 'world';
  if (req.method === 'POST') return { echo: await req.json(), runtime: 'node' };
  return { message: `${process.env.GREETING ?? 'Hello'}, ${name}`, runtime: 'node' };
}
