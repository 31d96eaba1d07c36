package dev.lockstep.block.nbd;

import java.io.IOException;

/**
 * Thrown when a peer violates the NBD protocol (bad magic, malformed message). The
 * connection that carried the violation cannot continue.
 */
public class NbdProtocolException extends IOException {

	private static final long serialVersionUID = 1L;

	public NbdProtocolException(String message) {
		super(message);
	}

}
