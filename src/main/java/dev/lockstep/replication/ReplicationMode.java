package dev.lockstep.replication;

import java.util.Locale;

import com.fasterxml.jackson.annotation.JsonCreator;
import com.fasterxml.jackson.annotation.JsonValue;
import org.jspecify.annotations.Nullable;

/**
 * The role a node plays in replication. Written {@code primary} and {@code secondary} in
 * JSON and in configuration.
 */
public enum ReplicationMode {

	/**
	 * The node that runs the protected workload and sends its changes to the peer.
	 */
	PRIMARY,

	/**
	 * The node that receives the primary's changes and can take over on failover.
	 */
	SECONDARY;

	/**
	 * Returns the lower-case name used in JSON, configuration and metrics.
	 */
	@JsonValue
	public String value() {
		return name().toLowerCase(Locale.ROOT);
	}

	/**
	 * Parses {@code primary} or {@code secondary}, ignoring case.
	 * @throws IllegalArgumentException for any other value
	 */
	@JsonCreator
	public static ReplicationMode of(@Nullable String value) {
		if (value != null) {
			for (ReplicationMode mode : values()) {
				if (mode.name().equalsIgnoreCase(value.trim())) {
					return mode;
				}
			}
		}
		throw new IllegalArgumentException(
				"Unknown replication mode '" + value + "': expected 'primary' or 'secondary'");
	}

	@Override
	public String toString() {
		return value();
	}

}
