package dev.lockstep.block;

/**
 * The disk engine could not start: a disk could not be opened or served, or the NBD
 * server could not listen. Carries what to do about it, which
 * {@link DiskEngineFailureAnalyzer} reports instead of a stack trace.
 */
public final class DiskEngineException extends RuntimeException {

	private final String action;

	DiskEngineException(String message, String action, Throwable cause) {
		super(message, cause);
		this.action = action;
	}

	/** Returns what the operator can do about it. */
	public String action() {
		return this.action;
	}

}
