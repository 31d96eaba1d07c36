package dev.lockstep.replication;

/**
 * The coordinator's lifecycle state.
 */
public enum CoordinatorState {

	/** No participant is replicating. */
	IDLE,

	/** Every participant was started and none has been stopped since. */
	RUNNING,

	/**
	 * A stop (or the compensation of a failed start) could not stop every participant.
	 */
	FAILED

}
