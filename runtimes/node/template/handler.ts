// A Plinth function: gets a web Request, returns a Response, a string, or anything JSON.
export default async function handler(req: Request) {
  const name = new URL(req.url).searchParams.get('name') ?? 'world';
  return { function: '__NAME__', runtime: 'node', message: `Hello, ${name}` };
}
