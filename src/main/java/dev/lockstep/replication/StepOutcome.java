package dev.lockstep.replication;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * How one participant call ended.
 */
public enum StepOutcome {

	SUCCEEDED,

	/** The participant threw. */
	FAILED,

	/** The participant did not return within its deadline. */
	TIMED_OUT,

	/**
	 * The participant was not called, for example because it was unregistered meanwhile.
	 */
	SKIPPED;

	@JsonValue
	public String value() {
		return name().toLowerCase(Locale.ROOT);
	}

	boolean isFailure() {
		return this == FAILED || this == TIMED_OUT;
	}

}
