/** Read the status page's level trend (domain/html.ts levelTrend) back out of its HTML. */

/** The trend's bars as [x, y, height, class, title level], left to right. */
export function trendBars(html: string): Array<[number, number, number, string, number]> {
  const svg = /<svg class="trend"[^>]*>(.*?)<\/svg>/.exec(html)?.[1] ?? '';
  return [
    ...svg.matchAll(
      /<rect x="(\d+)" y="(-?\d+)" width="\d+" height="(\d+)" class="(lv\d)"><title>level (\d+)<\/title><\/rect>/g,
    ),
  ].map((m) => [Number(m[1]), Number(m[2]), Number(m[3]), m[4]!, Number(m[5])]);
}
