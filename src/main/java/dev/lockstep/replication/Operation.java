package dev.lockstep.replication;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A lifecycle operation that the coordinator runs across all participants.
 */
public enum Operation {

	START, CHECKPOINT, STOP,

	/** Pauses the workload of every started participant before a checkpoint. */
	PAUSE,

	/** Resumes the workload after a pause. */
	RESUME;

	@JsonValue
	public String value() {
		return name().toLowerCase(Locale.ROOT);
	}

}
