export default function (req) {
  const cpu = Number(new URL(req.url).searchParams.get('cpu') ?? 0);
  const end = performance.now() + cpu;
  let x = 0;
  while (performance.now() < end) x++;
  return { spins: x };
}
