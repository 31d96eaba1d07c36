package dev.lockstep.replication;

import org.jspecify.annotations.Nullable;

/**
 * Hears what the coordinator does, as it does it: an operation started, a participant
 * call ended, an operation ended, the lifecycle state changed. Asynchronous requests,
 * idempotent retries and the event stream are built on it.
 * <p>
 * Every method is called on the thread that runs the operation, never with the
 * coordinator's monitor held, and must return quickly: a participant call waits for it.
 * {@link #operationStarted} is called on the thread that asked for the operation, before
 * any participant is called. A listener that throws is logged and otherwise ignored.
 */
public interface OperationListener {

	/**
	 * An operation started; no participant has been called yet.
	 * @param report the report so far, with outcome {@link OperationOutcome#RUNNING}
	 */
	default void operationStarted(OperationReport report) {
	}

	/**
	 * A participant call of the running operation ended.
	 * @param report the report so far, with outcome {@link OperationOutcome#RUNNING},
	 * whose last step is {@code step}
	 * @param step the call that ended
	 */
	default void stepFinished(OperationReport report, StepReport step) {
	}

	/**
	 * An operation that started ended. An operation that had nothing to do ({@code noop})
	 * is neither started nor finished: it is only kept in the history.
	 * @param report the final report, as it is kept in the history
	 */
	default void operationFinished(OperationReport report) {
	}

	/**
	 * The coordinator's lifecycle state changed at the end of an operation.
	 * @param previous the state before
	 * @param state the state now
	 * @param mode the mode now, {@code null} when idle
	 */
	default void stateChanged(CoordinatorState previous, CoordinatorState state, @Nullable ReplicationMode mode) {
	}

}
