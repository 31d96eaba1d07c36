package dev.lockstep.replication;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * The participant method that one step of an operation called.
 */
public enum StepAction {

	START, CHECKPOINT, STOP, PAUSE, RESUME,

	/**
	 * A {@code stop(false)} that undoes a start after a later participant failed to
	 * start.
	 */
	COMPENSATE;

	@JsonValue
	public String value() {
		return name().toLowerCase(Locale.ROOT);
	}

}
