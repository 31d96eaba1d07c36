package dev.lockstep.replication;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/**
 * A pause in effect on this node: which participants to resume, in descending order, and
 * since when the workload is paused.
 *
 * @param operationId the id of the pause operation
 * @param since when the pause started
 * @param sinceNanos the same moment on {@link System#nanoTime()}'s scale
 * @param participants the participants to resume, in descending order
 * @param maxPause how long the workload may stay paused before the coordinator resumes it
 * by itself
 */
record PausedWorkload(String operationId, Instant since, long sinceNanos, List<RegisteredParticipant> participants,
		Duration maxPause) {

	PausedWorkload {
		participants = List.copyOf(participants);
	}

	/** Returns how long the workload has been paused until now, in nanoseconds. */
	long pausedNanos() {
		return Math.max(0, System.nanoTime() - this.sinceNanos);
	}

}
