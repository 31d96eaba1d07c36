package dev.lockstep.api;

/**
 * Signals that a requested resource does not exist.
 */
public final class NotFoundException extends RuntimeException {

	public NotFoundException(String message) {
		super(message);
	}

}
