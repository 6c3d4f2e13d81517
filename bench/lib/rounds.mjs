// Alternating rounds: baseline, subject, baseline, subject, … so drift (a busy neighbour, a warm
// cache) falls on both; each figure is the median over the rounds of that figure.
export const ROUNDS = Math.max(3, Number(process.env.BENCH_ROUNDS ?? 3));

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/**
 * Run each measurement once per round, in order, for ROUNDS rounds; returns, per measurement,
 * an object with the median of each numeric field over the rounds.
 */
export async function alternate(measurements, rounds = ROUNDS) {
  const seen = measurements.map(() => []);
  for (let r = 0; r < rounds; r++)
    for (const [i, m] of measurements.entries()) seen[i].push(await m());
  return seen.map((results) =>
    Object.fromEntries(Object.keys(results[0]).map((k) => [k, median(results.map((x) => x[k]))])),
  );
}
