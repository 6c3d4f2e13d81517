import { InfraError } from '../../errors.js';

/** A git command failed (network, missing repository, corrupt clone). */
export class GitError extends InfraError {
  constructor(message: string) {
    super('GIT_FAILED', message);
  }
}
