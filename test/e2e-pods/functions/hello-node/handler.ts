// Dependency-free, so it runs from a ConfigMap in a cluster (no Build kind yet): GET ?name=Ada.
export default (req: Request) => ({
  message: `${process.env.GREETING ?? 'Hello'}, ${new URL(req.url).searchParams.get('name') ?? 'world'}`,
  runtime: 'node',
});
