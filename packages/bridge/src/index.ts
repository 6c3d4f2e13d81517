/** @cc-ci/bridge public API (used by tests and the e2e kit). */
export {};
