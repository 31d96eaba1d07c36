package dev.lockstep.replication;

import java.time.Instant;

/**
 * An operation in progress.
 *
 * @param id the operation's identifier
 * @param operation the operation
 * @param startedAt when it started
 * @param hardDeadline when it must have ended; past it the coordinator counts as wedged
 */
public record RunningOperation(String id, Operation operation, Instant startedAt, Instant hardDeadline) {

	/**
	 * Returns whether the operation has run past its hard deadline.
	 */
	public boolean isOverdue(Instant now) {
		return now.isAfter(this.hardDeadline);
	}

}
