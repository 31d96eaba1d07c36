package dev.lockstep.replication;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * A lifecycle operation that the coordinator runs across all participants.
 */
public enum Operation {

	START, CHECKPOINT, STOP;

	@JsonValue
	public String value() {
		return name().toLowerCase(Locale.ROOT);
	}

}
