/**
 * Diagnostics collected before teardown when anything failed: per-service task states with
 * their errors, the last service log lines (redacted), and the stack's recent Docker events.
 * Best effort: a diagnostics problem never changes a verdict.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DockerPort } from '../ports/docker.js';

export async function collectDiagnostics(
  docker: DockerPort,
  stack: string,
  runDir: string,
  since: Date,
  redact: (text: string) => string,
): Promise<string[]> {
  const dir = join(runDir, 'diagnostics');
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  const services = await docker.listServices(stack);
  const taskLines: string[] = [];
  for (const svc of services) {
    const tasks = await docker.listTasks(svc.name);
    taskLines.push(
      `# ${svc.name} (image ${svc.image}, replicas ${svc.replicas ?? 'global'}${svc.updateStatus ? `, update ${svc.updateStatus.state}: ${svc.updateStatus.message}` : ''})`,
    );
    for (const t of tasks) {
      taskLines.push(
        `${t.timestamp}  ${t.state.padEnd(9)} desired=${t.desiredState.padEnd(8)} exit=${t.exitCode ?? '-'}  ${t.error || t.message}`,
      );
    }
    const logs = await docker.serviceLogs(svc.name, 300);
    const file = `diagnostics/${svc.name.slice(stack.length + 1) || svc.name}.log`;
    await writeFile(join(runDir, file), redact(logs));
    written.push(file);
  }
  await writeFile(join(dir, 'tasks.txt'), redact(taskLines.join('\n') + '\n'));
  written.push('diagnostics/tasks.txt');
  const events = await docker
    .events({ 'com.docker.stack.namespace': stack }, since, new Date())
    .catch(() => []);
  await writeFile(join(dir, 'events.jsonl'), redact(events.map((e) => `${e}\n`).join('')));
  written.push('diagnostics/events.jsonl');
  return written;
}
