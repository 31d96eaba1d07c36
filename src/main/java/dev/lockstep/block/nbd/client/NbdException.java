package dev.lockstep.block.nbd.client;

import java.io.IOException;

/**
 * Thrown when the NBD handshake fails: the server is not reachable or not an NBD server,
 * refuses an option, or does not have the requested export.
 */
public class NbdException extends IOException {

	private static final long serialVersionUID = 1L;

	public NbdException(String message) {
		super(message);
	}

	public NbdException(String message, Throwable cause) {
		super(message, cause);
	}

}
