package dev.lockstep.pair;

import org.jspecify.annotations.Nullable;

import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.ReplicationMode;
import tools.jackson.databind.JsonNode;

/**
 * One node's lifecycle status, as a pair operation sees it.
 *
 * @param state its coordinator's state
 * @param mode its mode while running or failed
 * @param busy whether it runs an operation now
 * @param document its whole {@code GET /api/v1/replication} document
 */
record MemberStatus(CoordinatorState state, @Nullable ReplicationMode mode, boolean busy, JsonNode document) {

	/** Whether the node runs in the given mode. */
	boolean runningAs(ReplicationMode wanted) {
		return this.state == CoordinatorState.RUNNING && this.mode == wanted;
	}

}
