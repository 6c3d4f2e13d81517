/** Helpers the tiers share: find a service's running container and its volume mounts. */
import { InfraError } from '../errors.js';
import type { DockerPort, ExecResult } from '../ports/docker.js';

export async function runningContainer(docker: DockerPort, serviceName: string): Promise<string> {
  const tasks = await docker.listTasks(serviceName);
  const running = tasks.find(
    (t) => t.state === 'running' && t.desiredState === 'running' && t.containerId,
  );
  if (!running?.containerId) {
    throw new InfraError(
      'DOCKER_FAILED',
      `service ${serviceName} has no running container to exec into`,
    );
  }
  return running.containerId;
}

/** Volume name on the daemon → compose volume name (strip the stack prefix). */
export function composeVolumeName(stack: string, dockerName: string): string {
  return dockerName.startsWith(`${stack}_`) ? dockerName.slice(stack.length + 1) : dockerName;
}

export async function volumeMounts(
  docker: DockerPort,
  stack: string,
  containerId: string,
): Promise<Array<{ volume: string; dockerName: string; destination: string }>> {
  const mounts = await docker.containerMounts(containerId);
  return mounts
    .filter((m) => m.type === 'volume')
    .map((m) => ({
      volume: composeVolumeName(stack, m.name),
      dockerName: m.name,
      destination: m.destination,
    }));
}

/** Run a constant shell script with positional arguments: input never becomes shell syntax. */
export async function execScript(
  docker: DockerPort,
  containerId: string,
  script: string,
  args: readonly string[],
  opts: { stdin?: string; timeoutMs?: number } = {},
): Promise<ExecResult> {
  return docker.exec(containerId, ['sh', '-c', script, 'sh', ...args], opts);
}

export function describeExec(res: ExecResult): string {
  return `exit ${res.exitCode}${res.stderr.trim() ? `: ${res.stderr.trim().slice(0, 300)}` : ''}`;
}
