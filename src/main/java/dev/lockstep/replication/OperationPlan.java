package dev.lockstep.replication;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import org.jspecify.annotations.Nullable;

/**
 * Decides which participant call an operation makes next, given how the previous one
 * ended. A plan holds no threads; {@link OperationRun} drives it.
 */
abstract class OperationPlan {

	/**
	 * The participants that are started, in ascending order; updated as calls succeed.
	 */
	final Set<RegisteredParticipant> started;

	OperationPlan(Collection<RegisteredParticipant> started) {
		this.started = new LinkedHashSet<>(started);
	}

	/**
	 * Returns the next call, or {@code null} when the operation is complete.
	 * @param previous the outcome of the previous call, or {@code null} before the first
	 * call
	 */
	abstract @Nullable Call next(@Nullable StepReport previous);

	/**
	 * Returns every call this plan could make in the worst case, used to bound how long
	 * the operation may run.
	 */
	abstract List<Call> worstCase();

	/**
	 * Returns the started participants in ascending order.
	 */
	List<RegisteredParticipant> startedInOrder() {
		List<RegisteredParticipant> ordered = new ArrayList<>(this.started);
		ordered.sort(RegisteredParticipant.ORDER);
		return ordered;
	}

	private static List<RegisteredParticipant> descending(List<RegisteredParticipant> ascending) {
		Collections.reverse(ascending);
		return ascending;
	}

	record Call(RegisteredParticipant participant, StepAction action) {
	}

	/**
	 * Starts participants in ascending order. On the first failure the participants
	 * already started, and one that timed out, are stopped again in descending order.
	 */
	static final class Start extends OperationPlan {

		private final List<RegisteredParticipant> participants;

		private int next;

		private @Nullable List<RegisteredParticipant> compensation;

		Start(List<RegisteredParticipant> participants) {
			super(List.of());
			this.participants = participants;
		}

		@Override
		@Nullable Call next(@Nullable StepReport previous) {
			if (previous != null) {
				RegisteredParticipant last = (this.compensation != null) ? this.compensation.get(this.next - 1)
						: this.participants.get(this.next - 1);
				if (this.compensation != null) {
					if (!previous.outcome().isFailure()) {
						this.started.remove(last);
					}
				}
				else if (previous.outcome() == StepOutcome.SUCCEEDED) {
					this.started.add(last);
				}
				else if (previous.outcome().isFailure()) {
					if (previous.outcome() == StepOutcome.TIMED_OUT) {
						this.started.add(last);
					}
					this.compensation = descending(startedInOrder());
					this.next = 0;
				}
			}
			List<RegisteredParticipant> targets = (this.compensation != null) ? this.compensation : this.participants;
			if (this.next >= targets.size()) {
				return null;
			}
			RegisteredParticipant participant = targets.get(this.next++);
			return new Call(participant, (this.compensation != null) ? StepAction.COMPENSATE : StepAction.START);
		}

		@Override
		List<Call> worstCase() {
			List<Call> calls = new ArrayList<>();
			this.participants.forEach((participant) -> calls.add(new Call(participant, StepAction.START)));
			this.participants.forEach((participant) -> calls.add(new Call(participant, StepAction.COMPENSATE)));
			return calls;
		}

		boolean failed() {
			return this.compensation != null;
		}

	}

	/**
	 * Checkpoints the started participants in ascending order, stopping at the first
	 * failure.
	 */
	static final class Checkpoint extends OperationPlan {

		private final List<RegisteredParticipant> participants;

		private int next;

		private boolean failed;

		Checkpoint(Collection<RegisteredParticipant> started) {
			super(started);
			this.participants = startedInOrder();
		}

		@Override
		@Nullable Call next(@Nullable StepReport previous) {
			if (previous != null && previous.outcome().isFailure()) {
				this.failed = true;
				return null;
			}
			if (this.next >= this.participants.size()) {
				return null;
			}
			return new Call(this.participants.get(this.next++), StepAction.CHECKPOINT);
		}

		@Override
		List<Call> worstCase() {
			return this.participants.stream()
				.map((participant) -> new Call(participant, StepAction.CHECKPOINT))
				.toList();
		}

		boolean failed() {
			return this.failed;
		}

	}

	/**
	 * Stops the started participants in descending order, going on through failures so
	 * that a failover gets as far as it can.
	 */
	static final class Stop extends OperationPlan {

		private final List<RegisteredParticipant> participants;

		private int next;

		Stop(Collection<RegisteredParticipant> started) {
			super(started);
			this.participants = descending(startedInOrder());
		}

		@Override
		@Nullable Call next(@Nullable StepReport previous) {
			if (previous != null && !previous.outcome().isFailure()) {
				this.started.remove(this.participants.get(this.next - 1));
			}
			if (this.next >= this.participants.size()) {
				return null;
			}
			return new Call(this.participants.get(this.next++), StepAction.STOP);
		}

		@Override
		List<Call> worstCase() {
			return this.participants.stream().map((participant) -> new Call(participant, StepAction.STOP)).toList();
		}

	}

}
