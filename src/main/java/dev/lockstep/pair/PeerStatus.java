package dev.lockstep.pair;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

import dev.lockstep.logging.LogText;
import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.ReplicationMode;
import org.jspecify.annotations.Nullable;
import tools.jackson.databind.JsonNode;

/**
 * What the peer's {@code GET /api/v1/replication} said about it: its lifecycle state, its
 * mode and the errors its participants report.
 *
 * @param state the peer's lifecycle state
 * @param mode the peer's mode while running or failed, else {@code null}
 * @param errors each participant error, as {@code participant: message}
 */
record PeerStatus(CoordinatorState state, @Nullable ReplicationMode mode, List<String> errors) {

	PeerStatus {
		errors = List.copyOf(errors);
	}

	/**
	 * Reads a status document; empty if it is not one.
	 */
	static Optional<PeerStatus> read(@Nullable JsonNode document) {
		if (document == null || !document.isObject()) {
			return Optional.empty();
		}
		CoordinatorState state = state(document.get("state"));
		if (state == null) {
			return Optional.empty();
		}
		JsonNode modeNode = document.get("mode");
		ReplicationMode mode = null;
		if (modeNode != null && modeNode.isString()) {
			try {
				mode = ReplicationMode.of(modeNode.asString());
			}
			catch (IllegalArgumentException ex) {
				return Optional.empty();
			}
		}
		List<String> errors = new ArrayList<>();
		JsonNode participants = document.get("participants");
		if (participants != null && participants.isArray()) {
			for (JsonNode participant : participants) {
				JsonNode error = participant.get("lastError");
				if (error != null && error.isString()) {
					errors.add(text(participant.get("name")) + ": " + text(error));
				}
			}
		}
		return Optional.of(new PeerStatus(state, mode, errors));
	}

	private static @Nullable CoordinatorState state(@Nullable JsonNode node) {
		if (node == null || !node.isString()) {
			return null;
		}
		String name = node.asString().trim().toUpperCase(Locale.ROOT);
		for (CoordinatorState state : CoordinatorState.values()) {
			if (state.name().equals(name)) {
				return state;
			}
		}
		return null;
	}

	/** The peer's text, quoted so that it cannot forge a log line. */
	private static String text(@Nullable JsonNode node) {
		return (node != null && node.isString()) ? LogText.quote(node.asString()) : "(none)";
	}

	/**
	 * Whether the peer runs as primary: it is the node that may still be writing.
	 */
	boolean runningAsPrimary() {
		return this.state == CoordinatorState.RUNNING && this.mode == ReplicationMode.PRIMARY;
	}

	/**
	 * Describes the status, such as
	 * {@code RUNNING as primary, with no participant error}.
	 */
	String describe() {
		String described = this.state + ((this.mode != null) ? " as " + this.mode.value() : "");
		if (this.state == CoordinatorState.IDLE) {
			return described;
		}
		return described + (this.errors.isEmpty() ? ", with no participant error"
				: ", with participant errors " + String.join("; ", this.errors));
	}

}
