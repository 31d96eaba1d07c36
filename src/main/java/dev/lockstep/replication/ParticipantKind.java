package dev.lockstep.replication;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonValue;

/**
 * Where a participant comes from.
 */
public enum ParticipantKind {

	/** A Spring bean in this process. */
	BEAN,

	/** A process that takes part through the remote participant HTTP protocol. */
	REMOTE;

	@JsonValue
	public String value() {
		return name().toLowerCase(Locale.ROOT);
	}

}
