package dev.lockstep.replication;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;

/**
 * What one lifecycle operation did.
 *
 * @param id unique identifier of the operation
 * @param operation the operation
 * @param mode the requested mode, for {@code start}
 * @param failover the requested failover flag, for {@code stop}
 * @param outcome how the operation ended
 * @param state the coordinator's state after the operation
 * @param caller who asked for the operation, as far as it is known
 * @param startedAt when the operation started
 * @param durationMillis how long it took
 * @param steps one entry per participant call, in call order
 * @param forced for {@code stop}, whether the caller skipped the check that the peer is
 * not still running as primary
 * @param peerCheck for a failover {@code stop} on a secondary with a peer configured,
 * what the peer answered when it was asked whether it still runs as primary
 * @param discardLocalChanges for {@code start}, {@code true} if the caller let the
 * primary overwrite this node's own changes ({@link StartOptions#discardLocalChanges()})
 * @param pausedMillis for {@code resume}, and for a {@code pause} that failed and resumed
 * at once, how long the workload was paused: from the start of the pause to the end of
 * the resume
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record OperationReport(String id, Operation operation, @Nullable ReplicationMode mode,
		@Nullable Boolean failover, OperationOutcome outcome, CoordinatorState state, @Nullable String caller,
		Instant startedAt, long durationMillis, List<StepReport> steps, @Nullable Boolean forced,
		@Nullable String peerCheck, @Nullable Boolean discardLocalChanges, @Nullable Long pausedMillis) {

	public OperationReport {
		steps = List.copyOf(steps);
	}

	/**
	 * A report of an operation that paused nothing.
	 */
	public OperationReport(String id, Operation operation, @Nullable ReplicationMode mode, @Nullable Boolean failover,
			OperationOutcome outcome, CoordinatorState state, @Nullable String caller, Instant startedAt,
			long durationMillis, List<StepReport> steps, @Nullable Boolean forced, @Nullable String peerCheck,
			@Nullable Boolean discardLocalChanges) {
		this(id, operation, mode, failover, outcome, state, caller, startedAt, durationMillis, steps, forced, peerCheck,
				discardLocalChanges, null);
	}

	/**
	 * A report without the stop's peer check fields.
	 */
	public OperationReport(String id, Operation operation, @Nullable ReplicationMode mode, @Nullable Boolean failover,
			OperationOutcome outcome, CoordinatorState state, @Nullable String caller, Instant startedAt,
			long durationMillis, List<StepReport> steps) {
		this(id, operation, mode, failover, outcome, state, caller, startedAt, durationMillis, steps, null, null, null,
				null);
	}

	/**
	 * Returns the first step that failed or timed out, if any.
	 */
	public Optional<StepReport> firstFailure() {
		return this.steps.stream().filter((step) -> step.outcome().isFailure()).findFirst();
	}

}
