package dev.lockstep.replication;

import org.jspecify.annotations.Nullable;

/**
 * Thrown when an operation is not allowed in the coordinator's current state, or while
 * another operation runs. Nothing was changed.
 */
public final class OperationConflictException extends RuntimeException {

	private final CoordinatorState state;

	private final @Nullable Operation runningOperation;

	public OperationConflictException(String message, CoordinatorState state, @Nullable Operation runningOperation) {
		super(message);
		this.state = state;
		this.runningOperation = runningOperation;
	}

	/**
	 * Returns the coordinator's state when the operation was refused.
	 */
	public CoordinatorState state() {
		return this.state;
	}

	/**
	 * Returns the operation that was running, or {@code null} if none was.
	 */
	public @Nullable Operation runningOperation() {
		return this.runningOperation;
	}

}
