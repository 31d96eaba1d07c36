package dev.lockstep.block.replicated.primary;

/**
 * An online verify cannot run now; the message says why and what to do.
 */
public final class VerifyRefusedException extends RuntimeException {

	private static final long serialVersionUID = 1L;

	public VerifyRefusedException(String message) {
		super(message);
	}

}
