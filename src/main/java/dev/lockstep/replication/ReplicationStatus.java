package dev.lockstep.replication;

import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A snapshot of the coordinator.
 *
 * @param state the lifecycle state
 * @param mode the mode while running or failed, else {@code null}
 * @param participants every registered participant, in ascending order
 * @param lastOperation the most recent operation's report, or {@code null}
 * @param runningOperation the operation in progress, or {@code null}
 */
public record ReplicationStatus(CoordinatorState state, @Nullable ReplicationMode mode,
		List<ParticipantStatus> participants, @Nullable OperationReport lastOperation,
		@Nullable RunningOperation runningOperation) {
}
