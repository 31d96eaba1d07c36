package dev.lockstep.pair;

import java.time.Instant;
import java.util.List;

import com.fasterxml.jackson.annotation.JsonInclude;
import org.jspecify.annotations.Nullable;

/**
 * What one pair operation did, across both nodes. Kept on the node that ran it and, as
 * far as the peer could be reached, on the peer too, with each step's node named as the
 * peer sees it.
 *
 * @param id unique identifier of the pair operation
 * @param operation {@code start}, {@code checkpoint} or {@code switchover}
 * @param outcome {@code succeeded} or {@code failed}; {@code running} while the operation
 * runs, when its steps so far are shown
 * @param primary which node is primary after the operation, seen from the node that keeps
 * the report, or {@code null} if neither
 * @param caller who asked, as far as it is known
 * @param startedAt when it started
 * @param durationMillis how long it took
 * @param steps every participant call on both nodes, in call order
 * @param note what the operator should know, such as that NBD clients must reconnect
 * @param error why it failed, or {@code null}
 * @param pausedMillis for a checkpoint or switchover, how long the workload was paused:
 * from the first pause to the end of the last resume
 */
@JsonInclude(JsonInclude.Include.NON_NULL)
public record PairReport(String id, String operation, String outcome, @Nullable PairNode primary,
		@Nullable String caller, Instant startedAt, long durationMillis, List<PairStep> steps, @Nullable String note,
		@Nullable String error, @Nullable Long pausedMillis) {

	/** The outcome of a pair operation that still runs. */
	public static final String RUNNING = "running";

	/** The outcome of a pair operation that succeeded. */
	public static final String SUCCEEDED = "succeeded";

	/** The outcome of a pair operation that failed. */
	public static final String FAILED = "failed";

	public PairReport {
		steps = List.copyOf(steps);
	}

	/** Whether the pair operation succeeded. */
	public boolean succeeded() {
		return SUCCEEDED.equals(this.outcome);
	}

	/** Whether the pair operation still runs. */
	public boolean running() {
		return RUNNING.equals(this.outcome);
	}

	/**
	 * The same report as the other node sees it: {@code self} and {@code peer} swapped.
	 */
	public PairReport seenFromPeer() {
		return new PairReport(this.id, this.operation, this.outcome,
				(this.primary != null) ? this.primary.other() : null, this.caller, this.startedAt, this.durationMillis,
				this.steps.stream()
					.map((step) -> new PairStep(step.node().other(), step.nodeOperation(), step.participant(),
							step.action(), step.outcome(), step.durationMillis(), step.error()))
					.toList(),
				this.note, this.error, this.pausedMillis);
	}

}
