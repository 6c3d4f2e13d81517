/** Types of scripts/generate-docs.mjs (used by test/integration/docs.test.ts). */
export function renderAll(): Record<string, string>;
