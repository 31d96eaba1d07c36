package dev.lockstep.replication;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * How an operation ended.
 */
public enum OperationOutcome {

	/** Every participant call succeeded. */
	SUCCEEDED,

	/** At least one participant call failed or timed out. */
	FAILED,

	/** Nothing had to be done: the coordinator was already in the requested state. */
	NOOP,

	/**
	 * The operation has not ended yet: the report so far, which grows by one step per
	 * participant call.
	 */
	RUNNING;

	@JsonValue
	public String value() {
		return name().toLowerCase(Locale.ROOT);
	}

}
