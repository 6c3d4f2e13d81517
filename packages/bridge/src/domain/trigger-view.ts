/** A trigger as the status page lists it (`/triggers`), mapped from the store's rows in IntakeStore. */
export interface TriggerView {
  readonly id: number;
  readonly repo: string;
  readonly pr: number;
  readonly commenter: string;
  /** accepted, queued, building, finished, failed, refused, unknown_repo or superseded (docs/intake.md). */
  readonly state: string;
  readonly reason: string | null;
  /** The Drone build (= run id) once one exists. */
  readonly buildNumber: number | null;
  readonly createdAt: string;
}
