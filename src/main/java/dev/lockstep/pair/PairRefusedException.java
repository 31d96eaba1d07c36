package dev.lockstep.pair;

/**
 * A pair operation refused before any participant was called: no peer is configured, a
 * node runs an operation, the peer cannot be reached, or the pair is not in a state the
 * operation needs. The message says what to do.
 */
public final class PairRefusedException extends RuntimeException {

	private static final long serialVersionUID = 1L;

	private final boolean unconfigured;

	PairRefusedException(String message, boolean unconfigured) {
		super(message);
		this.unconfigured = unconfigured;
	}

	/** Whether the refusal is for want of {@code lockstep.pair.peer-api}. */
	public boolean unconfigured() {
		return this.unconfigured;
	}

}
