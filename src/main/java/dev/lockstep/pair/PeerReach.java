package dev.lockstep.pair;

import org.jspecify.annotations.Nullable;

import dev.lockstep.replication.CoordinatorState;
import dev.lockstep.replication.ReplicationMode;

/**
 * Whether the peer's API answered, and what it said of itself.
 *
 * @param peerApi the peer's API URL
 * @param reachable whether it answered with its status
 * @param problem why not, when it did not
 * @param state its lifecycle state, when it answered
 * @param mode its mode, when it answered and runs
 */
public record PeerReach(String peerApi, boolean reachable, @Nullable String problem, @Nullable CoordinatorState state,
		@Nullable ReplicationMode mode) {

}
